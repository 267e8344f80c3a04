#!/bin/sh
# Line coverage of the fuzz corpora: which lines of each reader the inputs
# that scripts/fuzz.sh kept (its seeds plus what the fuzzer added) actually
# reach. Builds the targets with clang's source-based coverage in their own
# directory, replays every corpus once (-runs=0: no fuzzing), and prints
# llvm-cov's report for the files each target exists to test.
#
#   scripts/fuzz-coverage.sh [TARGET...]     after scripts/fuzz.sh has run
#
# Environment: FUZZ_BUILD and FUZZ_DIR as for scripts/fuzz.sh (where the
# corpora are), FUZZ_COV_BUILD (default build-fuzz-cov).
set -eu
cd "$(dirname "$0")/.."
all="fuzz_gguf fuzz_vocab fuzz_llama2c fuzz_tokbin fuzz_json fuzz_cli fuzz_chat fuzz_serve_request"
targets=${*:-$all}
dir=${FUZZ_DIR:-${FUZZ_BUILD:-build-fuzz}/fuzz}
cov=${FUZZ_COV_BUILD:-build-fuzz-cov}
if [ ! -d "$dir/seeds" ]; then
  echo "fuzz-coverage.sh: no corpora in $dir: run scripts/fuzz.sh first" >&2
  exit 1
fi
profdata=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
llvmcov=$(command -v llvm-cov || command -v llvm-cov-14 || true)
if [ -z "$profdata" ] || [ -z "$llvmcov" ]; then
  echo "fuzz-coverage.sh: llvm-profdata and llvm-cov are missing (Debian package llvm)" >&2
  exit 1
fi

flags="-fprofile-instr-generate -fcoverage-mapping"
cmake -S . -B "$cov" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGITLAB_FUZZ=ON \
  -DLOGITLAB_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
# shellcheck disable=SC2086
cmake --build "$cov" -j "$(nproc 2>/dev/null || echo 2)" --target $targets >/dev/null

# the files a target is there to test (the rest it touches is reported by others)
files_of() {
  case $1 in
    fuzz_gguf) echo src/format/gguf.c src/model/model.c src/model/forward.c ;;
    fuzz_vocab) echo src/format/gguf.c src/tokenizer/tokenizer.c src/tokenizer/spm.c src/tokenizer/bpe.c ;;
    fuzz_llama2c) echo src/model/model.c src/model/forward.c ;;
    fuzz_tokbin) echo src/tokenizer/tokenizer.c src/tokenizer/spm.c ;;
    fuzz_json) echo src/util/json.c cli/cmd_sample.c ;;
    fuzz_cli) echo cli/args.c src/sampling/params.c src/sampling/tables.c ;;
    fuzz_chat) echo src/decode/chat.c ;;
    fuzz_serve_request) echo src/serve/request.c ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
for t in $targets; do
  raw=$cov/$t.profraw
  rm -f "$raw"
  # the replay must see every input whole, as the fuzzing did
  max=0
  for f in "$dir/seeds/$t"/* "$dir/corpus/$t"/*; do
    [ -f "$f" ] || continue
    n=$(wc -c <"$f")
    [ "$n" -gt "$max" ] && max=$n
  done
  n_in=$(find "$dir/seeds/$t" "$dir/corpus/$t" -type f 2>/dev/null | wc -l)
  LLVM_PROFILE_FILE=$raw "$cov/tests/$t" -runs=0 -max_len=$((max + 1)) -close_fd_mask=3 \
    "$dir/corpus/$t" "$dir/seeds/$t" >/dev/null 2>&1 || true
  if [ ! -s "$raw" ]; then
    echo "$t: no profile written (did the replay crash? run it by hand)" >&2
    continue
  fi
  "$profdata" merge -sparse "$raw" -o "$cov/$t.profdata"
  echo "== $t: $n_in corpus inputs"
  # shellcheck disable=SC2046
  "$llvmcov" report "$cov/tests/$t" -instr-profile="$cov/$t.profdata" $(files_of "$t") |
    awk 'BEGIN { printf "   %-16s %8s %8s %8s %8s\n", "file", "lines", "missed", "lines %", "regions %" }
         $4 ~ /%$/ { printf "   %-16s %8s %8s %8s %8s\n", $1, $8, $9, $10, $4 }'
done
