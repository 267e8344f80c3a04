#!/bin/sh
# test_cli.sh - the logitlab command line: outputs, exit codes and error
# messages of `logitlab sample`. Usage: test_cli.sh path/to/logitlab
set -u
bin=$1
. "$(dirname "$0")/check.sh"

printf '[0.1, 2.0, -1.5, 3.0, 0.5, "-inf", 2.9]' > "$tmp/l.json"

"$bin" sample --logits "$tmp/l.json" --seed 1 --compact > "$tmp/out" 2> "$tmp/err"
check "sample runs" $?
has "$tmp/out" '"profile":"llama.cpp"'; check "default profile is llama.cpp" $?
has "$tmp/out" '"n_candidates":4'; check "default chain keeps 4 of 7" $?
has "$tmp/out" '"selected":{"id":'; check "selected token printed" $?

"$bin" sample --logits "$tmp/l.json" --temperature 0 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":3'; check "temperature 0 is greedy" $?

"$bin" sample --logits "$tmp/l.json" --profile hf --compact > "$tmp/out" 2> "$tmp/err"
has "$tmp/out" '"chain":"greedy"'; check "hf without do_sample is greedy" $?
"$bin" sample --logits "$tmp/l.json" --profile hf --top-k 2 --compact > /dev/null 2> "$tmp/err"
has "$tmp/err" 'ignored'; check "hf warns that top_k is ignored without do_sample" $?

"$bin" sample --logits "$tmp/l.json" --profile hf --do-sample --top-k 1 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"n_candidates":1'; check "hf top_k 1" $?

"$bin" sample --logits "$tmp/l.json" --trace --top 2 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"trace":\[{"stage":'; check "trace printed" $?
has "$tmp/out" '"mass_removed"'; check "trace has mass removed" $?

"$bin" sample --logits "$tmp/l.json" --repeat 5 --repetition-penalty 1.5 --seed 3 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"tokens":\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]'; check "--repeat prints 5 tokens" $?
"$bin" sample --logits "$tmp/l.json" --repeat 5 --repetition-penalty 1.5 --seed 3 --compact > "$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out2"; check "same seed, same output" $?

"$bin" sample --logits "$tmp/l.json" --logit-bias 3=-inf --temperature 0 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":6'; check "a banned token is not chosen" $?

# raw float32 input (little-endian), written with printf octal escapes
printf '\000\000\000\000\000\000\200\077\000\000\000\100' > "$tmp/l.f32"   # 0, 1, 2
"$bin" sample --logits "$tmp/l.f32" --temperature 0 --compact > "$tmp/out" 2>/dev/null
has "$tmp/out" '"n_vocab":3' && has "$tmp/out" '"selected":{"id":2'; check "raw f32 input" $?

# errors: exit status 2 and a message naming the value and the range
"$bin" sample --logits "$tmp/l.json" --top-p 1.7 > /dev/null 2> "$tmp/err"
st=$?; [ $st -eq 2 ] && has "$tmp/err" 'top_p = 1.7 is out of range: valid is \[0, 1\]'; check "top_p 1.7 rejected" $?
"$bin" sample --logits "$tmp/l.json" --top-k abc > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" "'abc' is not an integer"; check "bad integer rejected" $?
"$bin" sample --logits "$tmp/l.json" --bogus > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" "unknown flag '--bogus'"; check "unknown flag rejected" $?
printf '[1, "nan", 2]' > "$tmp/nan.json"
"$bin" sample --logits "$tmp/nan.json" > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" 'logit\[1\] = nan'; check "NaN logit rejected" $?
printf '[1, 2' > "$tmp/bad.json"
"$bin" sample --logits "$tmp/bad.json" > /dev/null 2> "$tmp/err"
[ $? -ne 0 ] && has "$tmp/err" 'JSON'; check "truncated JSON rejected" $?
"$bin" sample --logits "$tmp/missing.json" > /dev/null 2> "$tmp/err"
[ $? -ne 0 ] && has "$tmp/err" 'cannot open'; check "missing file rejected" $?
"$bin" sample --logits "$tmp/l.json" --profile hf --frequency-penalty 0.5 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" 'not a parameter of the hf profile'; check "parameter of another profile rejected" $?
"$bin" sample --help > "$tmp/out"; check "--help works" $?
"$bin" frobnicate > /dev/null 2>&1; [ $? -eq 2 ]; check "unknown command rejected" $?

finish "cli"
