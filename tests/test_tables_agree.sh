#!/bin/sh
# test_tables_agree.sh - the kernel tables give the same bits end to end:
# every logit of a 6-token prompt (the one-token arithmetic: at most 8
# tokens), with LOGITLAB_SIMD=scalar, avx2, avx512 and avx512bw (those
# this CPU runs), for a model of each tensor type and the
# embedded one; and of a 13-token prompt, which goes through the prompt
# GEMMs (integer for the quantized types, tokens in lanes for the float
# ones), also one order for every table.
# Usage: test_tables_agree.sh path/to/logitlab path/to/shared
set -u
bin=$1
dir=$2/models/synthetic
. "$(dirname "$0")/check.sh"
levels="scalar"
for l in avx2 avx512; do
  LOGITLAB_SIMD=$l "$bin" version | grep -q "simd: $l)" && levels="$levels $l"
done
# avx512bw: the AVX-512 matrix kernels without VNNI (on a VNNI CPU, avx512 takes the VNNI ones)
case "$levels" in *avx512*) levels="$levels avx512bw" ;; esac
echo "levels: $levels"
short="5 17 300 42 7 99"
long="5 17 300 42 7 99 12 250 31 8 64 200 3"
for m in F32 F16 BF16 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K default; do
  if [ "$m" = default ]; then model=""; else model="-m $dir/synth-t1-$m.gguf"; fi
  for ids in "$short" "$long"; do
    n=$(echo "$ids" | wc -w)
    for l in $levels; do
      # shellcheck disable=SC2086
      LOGITLAB_SIMD=$l "$bin" logits $model --tokens "$(echo "$ids" | tr ' ' ',')" --all --full --json -t 1 \
        >"$tmp/$l" 2>"$tmp/err" || echo "logits failed: $(cat "$tmp/err")"
    done
    grep -q '"logits":\[-\{0,1\}[0-9]' "$tmp/scalar"
    check "$m, $n tokens: logits were written" $?
    for l in $levels; do
      cmp -s "$tmp/scalar" "$tmp/$l"
      check "$m, $n tokens: every logit with $l equals scalar's" $?
    done
  done
done
finish "tables agree"
