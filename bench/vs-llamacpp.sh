#!/usr/bin/env bash
# vs-llamacpp.sh - logitlab and llama.cpp side by side: the same GGUF files, the same tests
# (prompt pp and generation tg, as llama-bench defines them), the two engines interleaved
# round by round so that both see the same machine state; prints the CPU (model and the
# SIMD flags the kernels choose by), the median tokens/s of each engine and the median of
# the per-round ratios logitlab / llama.cpp (a ratio of two runs made moments apart is
# steadier on a noisy machine than a ratio of medians).
#
#   LLAMA_CPP_BIN=/path/to/llama.cpp/build/bin bench/vs-llamacpp.sh [options] FILE.gguf...
#     -r N        rounds (default 5)
#     -t LIST     thread counts, comma-separated (default 1,2)
#     -p N -n N   prompt and generated tokens (default 128 and 64)
#     -l PATH     the logitlab binary (default: build/logitlab next to this script)
#     -o FILE     also write every sample as TSV (file engine test threads round tokens/s)
#
# Each engine runs with one repetition per round after its own warm-up. Needs bash, awk,
# sed and jq.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

rounds=5 threads=1,2 pp=128 tg=64 raw=""
here=$(cd "$(dirname "$0")" && pwd)
ll="$here/../build/logitlab"
while getopts "r:t:p:n:l:o:h" opt; do
    case $opt in
    r) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    p) pp=$OPTARG ;;
    n) tg=$OPTARG ;;
    l) ll=$OPTARG ;;
    o) raw=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

die() { echo "vs-llamacpp.sh: $*" >&2; exit 2; }
[ $# -ge 1 ] || { usage >&2; die "no GGUF file given"; }
[ -n "${LLAMA_CPP_BIN:-}" ] || die "LLAMA_CPP_BIN is not set: the directory of llama.cpp's llama-bench"
bench="$LLAMA_CPP_BIN/llama-bench"
[ -x "$bench" ] || die "$bench is not an executable file"
[ -x "$ll" ] || die "$ll is not an executable file (pass the logitlab binary with -l)"
command -v jq >/dev/null || die "jq is needed to read the engines' JSON lines"
for v in "$rounds" "$pp" "$tg"; do
    [[ $v =~ ^[1-9][0-9]{0,5}$ ]] || die "'$v' is not a count: valid is 1 to 999999"
done
[[ $threads =~ ^[1-9][0-9]{0,3}(,[1-9][0-9]{0,3})*$ ]] || die "-t '$threads' is not a list of thread counts like 1,2"
for f in "$@"; do [ -r "$f" ] || die "cannot read model file '$f'"; done

# ---- the CPU ----
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=" $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1) "
have=""
for f in avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx_vnni avx512_bf16 amx_int8; do
    [[ $flags == *" $f "* ]] && have="$have $f"
done
echo "cpu: ${model:-unknown} ($(nproc) logical CPUs);${have:- no AVX2}"
echo "logitlab: $ll ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')); llama.cpp: $bench"
echo "tests: pp$pp, tg$tg; threads $threads; $rounds rounds, engines interleaved"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
samples="$tmp/samples.tsv"
: >"$samples"

# One round of one engine on one file: appends "file engine test threads round t/s" rows.
run_llama() {
    local f=$1 r=$2 out="$tmp/llama.jsonl"
    "$bench" -m "$f" -p "$pp" -n "$tg" -t "$threads" -r 1 -o jsonl >"$out" 2>"$tmp/llama.err" ||
        { cat "$tmp/llama.err" >&2; die "llama-bench failed on $f"; }
    jq -r --arg f "$f" --arg r "$r" \
        '[$f, "llama.cpp", (if .n_gen > 0 then "tg\(.n_gen)" else "pp\(.n_prompt)" end), .n_threads, $r, .avg_ts] | @tsv' \
        "$out" >>"$samples"
}
run_logitlab() {
    local f=$1 r=$2 out="$tmp/ll.jsonl"
    "$ll" bench -m "$f" -p "$pp" -n "$tg" -t "$threads" -r 1 --json >"$out" 2>"$tmp/ll.err" ||
        { cat "$tmp/ll.err" >&2; die "logitlab bench failed on $f"; }
    grep '"test"' "$out" | jq -r --arg f "$f" --arg r "$r" '[$f, "logitlab", .test, .threads, $r, .tokens_per_s] | @tsv' \
        >>"$samples"
}

for ((r = 1; r <= rounds; r++)); do
    for f in "$@"; do
        # alternate which engine goes first, so neither always runs on a warmer (or hotter) CPU
        if ((r % 2)); then run_logitlab "$f" "$r"; run_llama "$f" "$r"; else run_llama "$f" "$r"; run_logitlab "$f" "$r"; fi
    done
    echo "round $r of $rounds done" >&2
done
[ -z "$raw" ] || cp "$samples" "$raw"

# ---- medians and paired ratios ----
awk -F'\t' '
function median(arr, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
{
    key = $1 SUBSEP $3 SUBSEP $4
    if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
    v[key, $2, $5] = $6
    rounds[$5] = 1
}
END {
    printf "%-28s %-6s %3s %12s %12s %8s %s\n", "file", "test", "t", "logitlab", "llama.cpp", "ratio", "(ratio min-max)"
    for (i = 1; i <= nk; i++) {
        split(order[i], k, SUBSEP)
        na = nb = nr = 0
        for (r in rounds) {
            a = v[order[i], "logitlab", r]; b = v[order[i], "llama.cpp", r]
            if (a != "") A[++na] = a
            if (b != "") B[++nb] = b
            if (a != "" && b != "" && b > 0) R[++nr] = a / b
        }
        name = k[1]; sub(/.*\//, "", name)
        if (na == 0 || nb == 0 || nr == 0) { printf "%-28s %-6s %3s  (missing samples)\n", name, k[2], k[3]; continue }
        ma = median(A, na); mb = median(B, nb); mr = median(R, nr)
        lo = R[1]; hi = R[nr]
        printf "%-28s %-6s %3s %12.2f %12.2f %8.2f (%.2f-%.2f)\n", name, k[2], k[3], ma, mb, mr, lo, hi
        delete A; delete B; delete R
    }
}' "$samples"
