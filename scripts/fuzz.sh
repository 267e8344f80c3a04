#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz_*.c) with clang, ASan and UBSan,
# makes a seed corpus for each from ../shared/models (and small files
# written here), runs each target for SECONDS (default 60) and prints the
# executions and coverage of each. Exits non-zero if a target crashed,
# leaked, timed out or ran out of memory, naming the reproducer.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 300 fuzz_vocab
#
# Environment: FUZZ_BUILD (build dir, default build-fuzz), FUZZ_DIR (corpora,
# reproducers and logs, default FUZZ_BUILD/fuzz; the corpus grows from run to
# run), FUZZ_RSS_MB (memory limit, also the largest single allocation,
# default 2048), FUZZ_TIMEOUT (seconds one input may take, default 30).
#
# Reproduce a finding: FUZZ_BUILD/tests/fuzz_X REPRODUCER (LL_FUZZ_VERBOSE=1
# prints why an input is rejected). The corpus arguments must be directories:
# a file argument is run once, not fuzzed.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
case $secs in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;;
esac
all="fuzz_gguf fuzz_vocab fuzz_llama2c fuzz_tokbin fuzz_json fuzz_cli fuzz_chat"
# the server's request reader, where the server is built (scripts/test.sh installs its libraries)
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libmicrohttpd jansson; then
  all="$all fuzz_serve_request"
fi
# server answers as logitlab conform reads them, where conform is built (libcurl)
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libcurl jansson; then
  all="$all fuzz_conform"
fi
targets=${*:-$all}
build=${FUZZ_BUILD:-build-fuzz}
dir=${FUZZ_DIR:-$build/fuzz}
rss=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-30}
models=../shared/models
if [ ! -d "$models" ]; then
  echo "fuzz.sh: $models (the seed models) is missing next to this checkout" >&2
  exit 1
fi

# clang with libFuzzer: Debian splits the runtime (libclang-rt-*-dev) from
# the compiler, and a fresh CI machine has neither.
have_libfuzzer() {
  command -v clang >/dev/null 2>&1 || return 1
  t=$(mktemp -d)
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$t/t.c"
  ok=0
  clang -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1 || ok=1
  rm -rf "$t"
  return $ok
}
if ! have_libfuzzer; then
  echo "fuzz.sh: clang with libFuzzer is missing; installing clang and libclang-rt-dev" >&2
  sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  # libclang-rt-dev follows the default clang; older releases only have the versioned name
  $sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null 2>&1 ||
    $sudo apt-get install -y -qq clang "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev" >/dev/null
  have_libfuzzer || { echo "fuzz.sh: clang still cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGITLAB_FUZZ=ON \
  -DLOGITLAB_BUILD_BENCH=OFF >/dev/null
# logitlab itself writes the small seed models
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target logitlab_cli $targets >/dev/null

# ---- seed corpora (rewritten on every run; what the fuzzer adds is kept apart) ----
seeds=$dir/seeds
rm -rf "$seeds"
mkdir -p "$seeds" "$dir/corpus" "$dir/crashes" "$dir/logs"
for t in $all; do mkdir -p "$seeds/$t" "$dir/corpus/$t"; done
ll=$build/logitlab

# Small models fuzz fastest: tiny ones of every tensor type logitlab synth writes.
for ty in F32 F16 BF16 Q8_0 Q4_0; do
  "$ll" synth -o "$seeds/fuzz_gguf/tiny-$ty.gguf" --type "$ty" --vocab 260 --dim 32 --layers 1 --heads 4 \
    --kv-heads 2 --ffn 64 --ctx 16 >/dev/null
done
for ty in Q4_K Q5_K Q6_K Q4_K_M; do
  "$ll" synth -o "$seeds/fuzz_gguf/tiny-$ty.gguf" --type "$ty" --vocab 260 --dim 256 --layers 2 --heads 4 \
    --kv-heads 1 --ffn 256 --ctx 16 --untied >/dev/null
done
cp "$models/stories260K.gguf" "$models/arch/synth-a1-llama3-Q4_K_M.gguf" "$models/arch/synth-a1-gemma2-Q8_0.gguf" \
  "$seeds/fuzz_gguf/"

# Vocabularies: every kind (SentencePiece, BPE with each pre-tokenizer, WordPiece).
cp "$models"/vocab/*.gguf "$seeds/fuzz_vocab/"
cp "$seeds/fuzz_gguf/tiny-Q8_0.gguf" "$seeds/fuzz_vocab/"

# llama2.c checkpoints: the real ones, and tiny ones written here (zero weights):
# fp32 with a shared and with a separate classifier, and the int8 version 2.
le32() { # int32, little endian (the format is built on purpose)
  # shellcheck disable=SC2059
  printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}
l2c_header() { # dim hidden layers heads kv_heads vocab seq_len
  for v in "$@"; do le32 "$v"; done
}
# dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, vocab 32, seq 8: 952 floats (+256 unshared)
{ l2c_header 8 16 1 2 2 32 8; head -c $((952 * 4)) /dev/zero; } >"$seeds/fuzz_llama2c/tiny-f32.bin"
{ l2c_header 8 16 1 2 2 -32 8; head -c $(((952 + 256) * 4)) /dev/zero; } >"$seeds/fuzz_llama2c/tiny-f32-unshared.bin"
# version 2: magic, version, header, shared flag, group 8, padding to 256 bytes;
# fp32 norms (3 x 8 floats), int8 tensors each followed by a scale per group of 8
# (embedding 256 + 32 x 4 bytes, 4 attention matrices 64 + 8 x 4, 3 FFN ones 128 + 16 x 4),
# all bytes 0x3f ('?'): weights 63, scales and norms 0.747 (all-zero activations
# are a separate case, 0/0 when they are quantized)
{ le32 $((0x616b3432)); le32 2; l2c_header 8 16 1 2 2 32 8; printf '\001'; le32 8; head -c 215 /dev/zero
  head -c $((96 + 384 + 4 * 96 + 3 * 192)) /dev/zero | tr '\000' '?'; } >"$seeds/fuzz_llama2c/tiny-q8.bin"
cp "$models/stories260K.bin" "$models/stories260K_q8.bin" "$seeds/fuzz_llama2c/"

cp "$models/tok512.bin" "$models/llama2-tokenizer/tokenizer.bin" "$seeds/fuzz_tokbin/"

# Logits files as `logitlab sample --logits` reads them, and JSON of other shapes.
cp examples/next-token-logits.json "$seeds/fuzz_json/"
cp "$models/synthetic/synth-t1-Q4_0.ref.json" "$seeds/fuzz_json/"
printf '[1.5, -2, "-inf", 0.25e1, 3]' >"$seeds/fuzz_json/array.json"
printf '{"logits": [0, 1e-3, "inf", "nan", -1.0E+2], "x": {"s": "a\\u00e9\\ud83d\\ude00\\n\\"", "b": [true, false, null]}}' \
  >"$seeds/fuzz_json/object.json"
printf '\000\000\200\077\000\000\000\100\000\000\200\377\000\000\100\100' >"$seeds/fuzz_json/raw.f32"

# Chat templates: each family by name, and the real template texts (from the
# test data that tools/render_chat_templates.py wrote), each followed by a
# NUL and a short conversation ("role\001content\002").
conv='system\001Be brief.\002user\001Hello\002assistant\001Hi there\002user\001And you?\002'
for fam in chatml qwen2.5 qwen3 llama2 mistral llama3 llama3.1 gemma gemma3 phi3 zephyr logitlab; do
  printf "%s\000$conv" "$fam" >"$seeds/fuzz_chat/$fam"
done
if command -v python3 >/dev/null 2>&1; then
  python3 - "$seeds/fuzz_chat" "$conv" <<'PY'
import json, sys
out, conv = sys.argv[1], sys.argv[2].encode().decode('unicode_escape').encode('latin-1')
for i, t in enumerate(json.load(open('tests/data/chat/jinja_renders.json'))['templates']):
    open('%s/template-%d-%s' % (out, i, t['name']), 'wb').write(t['template'].encode() + b'\0' + conv)
PY
fi

# Request bodies as POST /v1/completions and /v1/chat/completions receive them.
r=$seeds/fuzz_serve_request
if [ -d "$r" ]; then
  printf '{"model":"logitlab","prompt":"And God said","max_tokens":8,"temperature":0.7,"top_p":0.9,"seed":1}' >"$r/completion"
  printf '{"prompt":[1,450,2],"n":2,"stop":["\\n","And"],"logprobs":3,"echo":true,"logit_bias":{"5":100,"9":-100}}' >"$r/ids"
  printf '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2}' >"$r/chat"
  printf '{"prompt":"x","profile":"llama.cpp","top_k":40,"min_p":0.05,"repeat_penalty":1.1,"repeat_last_n":64,"mirostat":2,"mirostat_tau":5,"dry_multiplier":0.8,"xtc_probability":0.5,"samplers":"top_k;top_p","trace":true}' >"$r/llamacpp"
  printf '{"prompt":"x","profile":"hf","do_sample":true,"top_k":50,"typical_p":0.9,"repetition_penalty":1.2,"min_tokens":2,"ignore_eos":true,"stop_token_ids":[2]}' >"$r/hf"
fi

# Server answers as logitlab conform reads them: a recorded run against logitlab serve (bodies split at NUL)
[ -d "$seeds/fuzz_conform" ] && cp tests/conform/fuzz-seed.bin "$seeds/fuzz_conform/"

# Command lines, one argument per line.
c=$seeds/fuzz_cli
printf -- '--samplers\npenalties,dry,top_n_sigma,top_k,typical,top_p,min_p,xtc,temperature\n--top-k\n5' >"$c/samplers"
printf -- '--logit-bias\n3=-inf\n--logit-bias\n7+2.5\n--logit-bias\n0000000000000000000000000000000000042=1' >"$c/bias"
printf -- '--sequence-bias\n1,2,3=-5\n--bad-words\n4,5\n--suppress-tokens\n6 7\n1,2,3,1,2' >"$c/seqbias"
printf -- '--dry-multiplier\n0.8\n--dry-base\n1.75\n--dry-allowed-length\n2\n--dry-breaker\n1,2\n1,2,1,2,1' >"$c/dry"
printf -- '--mirostat\n2\n--mirostat-tau\n5\n--mirostat-eta\n0.1\n--seed\n7' >"$c/mirostat"
printf -- '--profile\nhf\n--repetition-penalty\n1.3\n--no-repeat-ngram-size\n2\n--min-new-tokens\n3\n--eos-id\n1\n1,2,1' >"$c/hf"
printf -- '--profile=llama.cpp\n--xtc-probability=0.5\n--xtc-threshold=0.1\n--top-n-sigma=1\n--dynatemp-range=0.5' >"$c/llamacpp"
printf -- '--temperature\n0\n--greedy\n--min-keep\n3\n--epsilon-cutoff\n0.001\n--eta-cutoff\n0.01\n--samplers\n,,,' >"$c/misc"
printf -- '--profile\nopenai\n--frequency-penalty\n0.5\n--presence-penalty\n-0.5\n--logit-bias\n9=100' >"$c/openai"
# a dictionary of every flag and sampler name, read from the sources so it stays current
{
  # every flag, and the stage names and aliases --samplers accepts: the rows of the tables
  grep -oh -- '--[a-z][a-z-]*' cli/args.c src/sampling/tables.c | sort -u | sed 's/.*/"&"/'
  sed -n '/ll_stage_rows\[LL_ST_COUNT\] = {/,/^};/p' src/sampling/tables.c | grep -o '\] = {"[a-z_]*"' |
    grep -o '"[a-z_]*"' | sort -u
  printf '"("\n")"\n"k=3"\n"t=0.7"\n"min_keep=2"\n'
  printf '"=-inf"\n"=inf"\n"nan"\n"1e300"\n"99999999999999999999"\n'
} >"$dir/cli.dict"
if ! grep -q '"top_k"' "$dir/cli.dict" || ! grep -q '"--top-k"' "$dir/cli.dict"; then
  echo "fuzz.sh: the flag or sampler names for the fuzz_cli dictionary were not found (did args.c or params.c's table move?)" >&2
  exit 1
fi

# ---- run ----
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in $targets; do
  max=0
  for f in "$seeds/$t"/* "$dir/corpus/$t"/*; do
    [ -f "$f" ] || continue
    n=$(wc -c <"$f")
    [ "$n" -gt "$max" ] && max=$n
  done
  # every seed whole (libFuzzer would cut at 1 MB), and room to grow
  max=$((max + 4096))
  extra=
  case $t in
    fuzz_json) extra=-close_fd_mask=2 ;; # `sample` reports each rejected file on stderr
    fuzz_cli) extra=-dict=$dir/cli.dict ;;
  esac
  log=$dir/logs/$t.log
  rc=0
  # shellcheck disable=SC2086
  "$build/tests/$t" -max_total_time="$secs" -max_len="$max" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" \
    -timeout="$timeout" -print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" $extra \
    "$dir/corpus/$t" "$seeds/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
  if [ "$rc" -eq 0 ]; then
    res=ok
  else
    failed=1
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    what=$(grep -E -m 1 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' "$log" || true)
    res="FAILED (exit $rc): ${what:-see $log}"
    [ -n "$art" ] && res="$res; reproducer: $art"
    sed -n '/==ERROR\|runtime error:\|ERROR: libFuzzer/,/SUMMARY/p' "$log" | head -n 40 >&2
  fi
  line=$(printf '%-14s execs %-9s exec/s %-6s cov %-6s ft %-7s corpus %-12s %s' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res")
  echo "$line"
done
echo "fuzz.sh: $secs s per target; logs in $dir/logs, corpora in $dir/corpus, reproducers in $dir/crashes"
[ "$failed" -eq 0 ] || { echo "fuzz.sh: a target failed (see above)" >&2; exit 1; }
