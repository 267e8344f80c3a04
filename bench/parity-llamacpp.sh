#!/usr/bin/env bash
# parity-llamacpp.sh - token parity with llama.cpp end to end: the same GGUF, the same prompt,
# the same seeded sampler chain in both engines; prints, per model, KV setting and seed, the
# first generated position where the engines' tokens differ, or "all N" when every token
# agrees (docs/parity.md has the table and what cannot be bit-identical).
#
#   LLAMA_CPP_BIN=/path/to/yardstick bench/parity-llamacpp.sh [options] [MODEL.gguf=PROMPT ...]
#     -n N        tokens generated per seed (default 64)
#     -s LIST     seeds, comma-separated (default 1,2,3,4,5,6,7,8)
#     -k LIST     settings (default f32,f16): f32 = llama.cpp -ctk f32 -ctv f32 -fa off against
#                 logitlab --kv-type f32; f16 = llama.cpp's defaults (-ctk f16 -ctv f16 -fa auto)
#                 against logitlab --kv-type f16
#     -l PATH     the logitlab binary (default: build/logitlab next to this script)
#     -v          print both token lists where they differ
#   Without MODEL=PROMPT: the embedded KJV model (models/kjv-q8_0.gguf, the file compiled into
#   logitlab; Q8_0, llama.cpp reads it) with a 16-token prompt (logitlab's prompt GEMM) and a
#   6-token one (its 2-8 token path), and ../shared/models/stories260K.gguf with a prompt of
#   more than 8 tokens. Rows are named by the model file and the prompt's token count.
#
# LLAMA_CPP_BIN is a small program linked against llama.cpp's libllama (built outside this
# repository, docs/parity.md says what it does): `BIN MODEL PROMPT SEED N CTK FA` with CTK
# f16|f32 and FA auto|on|off loads MODEL with n_ctx 256, one thread, tokenizes PROMPT as
# llama.cpp does (BOS by the model's flag), decodes it in one batch, then samples N tokens
# one at a time with llama.cpp's chain logit_bias(EOS -inf) -> top_k 40 -> top_p 0.95 ->
# min_p 0.05 -> temp 0.8 -> dist(SEED) (what llama.cpp's common sampler runs for these
# parameters with --ignore-eos), printing "prompt: IDS" and "tokens: IDS" on stdout.
# logitlab runs the same chain: its llama.cpp profile with the same values passed explicitly.
# Needs bash, jq.
set -euo pipefail

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

n=64 seeds=1,2,3,4,5,6,7,8 settings=f32,f16 verbose=0
here=$(cd "$(dirname "$0")" && pwd)
ll="$here/../build/logitlab"
while getopts "n:s:k:l:vh" opt; do
    case $opt in
    n) n=$OPTARG ;;
    s) seeds=$OPTARG ;;
    k) settings=$OPTARG ;;
    l) ll=$OPTARG ;;
    v) verbose=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

die() { echo "parity-llamacpp.sh: $*" >&2; exit 2; }
[ -n "${LLAMA_CPP_BIN:-}" ] || die "LLAMA_CPP_BIN is not set: the libllama yardstick (see the header)"
[ -x "$LLAMA_CPP_BIN" ] || die "$LLAMA_CPP_BIN is not an executable file"
[ -x "$ll" ] || die "$ll is not an executable file (pass the logitlab binary with -l)"
command -v jq >/dev/null || die "jq is needed to read logitlab's JSON"
[[ $n =~ ^[1-9][0-9]{0,3}$ ]] || die "-n '$n' is not a count: valid is 1 to 9999"
[[ $seeds =~ ^[0-9]{1,9}(,[0-9]{1,9})*$ ]] || die "-s '$seeds' is not a list of seeds like 1,2,3"
[[ $settings =~ ^(f32|f16)(,(f32|f16))*$ ]] || die "-k '$settings' is not a list of f32, f16"

if [ $# -eq 0 ]; then
    set -- "$here/../models/kjv-q8_0.gguf=In the beginning God created the heaven and the earth. And the earth was" \
        "$here/../models/kjv-q8_0.gguf=In the beginning God created" \
        "$here/../../shared/models/stories260K.gguf=Once upon a time, there was a little girl named Lily. She"
fi
for mp in "$@"; do
    [[ $mp == *=* ]] || die "'$mp' is not MODEL.gguf=PROMPT"
    [ -r "${mp%%=*}" ] || die "cannot read model file '${mp%%=*}'"
done

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "cpu: ${model:-unknown}; logitlab: $ll ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')); llama.cpp: $LLAMA_CPP_BIN"
echo "sampling: --temperature 0.8 --top-k 40 --top-p 0.95 --min-p 0.05, EOS banned, $n tokens, 1 thread"
printf '%-20s %-8s %s\n' model setting "first differing position per seed (0-based; 'all N': identical)"

for mp in "$@"; do
    file=${mp%%=*} prompt=${mp#*=}
    name=$(basename "$file" .gguf)
    for set in ${settings//,/ }; do
        if [ "$set" = f32 ]; then ctk=f32 fa=off; else ctk=f16 fa=auto; fi
        line="" same=0 total=0
        for seed in ${seeds//,/ }; do
            ref=$("$LLAMA_CPP_BIN" "$file" "$prompt" "$seed" "$n" "$ctk" "$fa") || die "the yardstick failed on $file"
            ref_prompt=$(sed -n 's/^prompt: *//p' <<<"$ref")
            ref_toks=$(sed -n 's/^tokens: *//p' <<<"$ref")
            ours=$("$ll" generate -m "$file" -p "$prompt" --seed "$seed" --temperature 0.8 --top-k 40 --top-p 0.95 \
                --min-p 0.05 --ignore-eos --max-new-tokens "$n" -t 1 --kv-type "$set" --one-token-prompt --json --quiet) ||
                die "logitlab generate failed on $file"
            our_toks=$(jq -r '.results[0].tokens | map(tostring) | join(" ")' <<<"$ours")
            our_np=$(jq -r '.n_prompt_tokens' <<<"$ours")
            ref_np=$(wc -w <<<"$ref_prompt")
            [ "$our_np" = "$ref_np" ] || die "$name: the prompt is $our_np tokens here and $ref_np in llama.cpp"
            label="$name/p$our_np"
            read -r -a a <<<"$ref_toks"
            read -r -a b <<<"$our_toks"
            first=-1
            for ((i = 0; i < n; i++)); do
                if [ "${a[i]:-x}" != "${b[i]:-y}" ]; then first=$i; break; fi
            done
            total=$((total + 1))
            if [ $first -lt 0 ]; then
                same=$((same + 1)) line="$line all$n"
            else
                line="$line $first"
                if [ $verbose = 1 ]; then
                    echo "  seed $seed llama.cpp: ${a[*]:first:8}" >&2
                    echo "  seed $seed logitlab:  ${b[*]:first:8}" >&2
                fi
            fi
        done
        printf '%-20s %-8s%s   (%d/%d identical)\n' "$label" "$set" "$line" "$same" "$total"
    done
done
