#!/bin/sh
# test_cli_hostile.sh - the command line against careless and hostile input
# (issue 9, items 7, 9, 10, 11): arguments are parsed whole or rejected by
# name (never cut at a buffer size, never ignored without a word), numbers
# are strict, --json output is valid UTF-8 JSON whatever the bytes, failed
# writes (full disk, closed pipe) are an error with a message, special
# files are refused by name, and `info` fails for what is not a model.
# Usage: test_cli_hostile.sh path/to/logitlab path/to/shared
set -u
bin=$1
shared=$2
gguf=$shared/models/stories260K.gguf
l2c=$shared/models/stories260K.bin
tok=$shared/models/tok512.bin
. "$(dirname "$0")/check.sh"
# expect STATUS PATTERN DESCRIPTION -- command...: the exit status and a line of stderr
expect() {
  want=$1 pat=$2 desc=$3
  shift 4
  "$@" > "$tmp/out" 2> "$tmp/err"
  st=$?
  if [ "$st" -eq "$want" ] && has "$tmp/err" "$pat"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $desc (status $st, want $want; stderr:)"
    sed 's/^/    /' "$tmp/err" | head -5
  fi
}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
for f in "$gguf" "$l2c" "$tok"; do [ -f "$f" ] || { echo "missing $f (the shared test data is required)"; exit 1; }; done
# valid JSON, and valid UTF-8 (json.load on bytes would accept neither a bad byte nor a truncation)
valid_json() { "$py" -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8","strict"))' "$1"; }
zeros() { "$py" -c "import sys; print('0' * int(sys.argv[1]), end='')" "$1"; }

# 50 logits: id 42 is the largest, id 0 second, id 2 third; everything else 0
"$py" -c '
l = [0.0] * 50
l[42], l[0], l[2] = 10.0, 9.0, 8.0
print(l)' > "$tmp/l50.json"
printf '[0.1, 2.0, -1.5, 3.0, 0.5, "-inf", 2.9]' > "$tmp/l7.json"
smp() { "$bin" sample --compact --seed 1 "$@"; }

# ---- 7. no argument is cut ----
# a 45-character zero-padded id is 42 (it was cut at 31 characters to 0, banning token 0)
smp --logits "$tmp/l50.json" --temperature 0 --logit-bias "$(zeros 43)42=-inf" > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":0,'; check "--logit-bias with a long zero-padded id bans 42, not 0" $?
smp --logits "$tmp/l50.json" --temperature 0 --logit-bias "$(zeros 43)42+5" > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":42,'; check "--logit-bias ID+BIAS with a long id" $?
# a sequence bias of 300 ids (over 511 characters, where it used to be cut) bans its last
# token after the other 299 (HF semantics: the history must be at least as long as the sequence)
seq299=$("$py" -c "print(','.join(['7'] * 299), end='')")
smp --logits "$tmp/l50.json" --temperature 0 --history "$seq299,7" --sequence-bias "$seq299,42=-inf" > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":0,'; check "--sequence-bias of 300 ids applies whole" $?
smp --logits "$tmp/l50.json" --temperature 0 --history "$seq299,7" --sequence-bias "8,$seq299,42=-inf" > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":42,'; check "--sequence-bias of 301 ids does not match 300" $?
# a --samplers list over 255 characters keeps its last stage
long=$("$py" -c "print('temperature,' * 30 + 'top_k', end='')")
smp --logits "$tmp/l50.json" --samplers "$long" --top-k 1 --temperature 0.5 > "$tmp/out" 2>/dev/null
has "$tmp/out" '"n_candidates":1,' && has "$tmp/out" 'top_k(k=1)'; check "--samplers over 255 characters keeps top_k" $?
# ... and the "chain" of a 121-stage order is written whole (it was cut at 2048 bytes)
long120=$("$py" -c "print('temperature,' * 120 + 'top_k', end='')")
smp --logits "$tmp/l50.json" --samplers "$long120" --top-k 1 --temperature 0.5 > "$tmp/out" 2>/dev/null
has "$tmp/out" 'temperature(t=0.5) -> top_k(k=1) -> dist(seed=1)"'; check "a long chain is described whole" $?
expect 2 "unknown sampler 'bogus' at position 32" "an unknown name after 255 characters is named" -- \
  "$bin" sample --logits "$tmp/l7.json" --samplers "$long,bogus"
expect 2 "empty stage name at position 1" "--samplers ',,,' is an error" -- "$bin" sample --logits "$tmp/l7.json" --samplers ",,,"
expect 2 "empty stage name at position 2" "--samplers with a trailing comma" -- "$bin" sample --logits "$tmp/l7.json" --samplers "top_k,"
expect 2 "the list is empty" "--samplers ''" -- "$bin" sample --logits "$tmp/l7.json" --samplers ""
expect 2 "top_k is set but 'top_k' is not in samplers=temperature" "top_k set but not listed" -- \
  "$bin" sample --logits "$tmp/l7.json" --samplers temperature --top-k 1
expect 2 "top_p is set but 'top_p' is not in samplers" "top_p set but not listed" -- \
  "$bin" sample --logits "$tmp/l7.json" --samplers top_k --top-p 0.5
expect 2 "has no effect with mirostat" "--samplers with mirostat" -- "$bin" sample --logits "$tmp/l7.json" --samplers top_k --mirostat 2
smp --logits "$tmp/l7.json" --samplers "top_k; Top-P, min_p temperature" > "$tmp/out" 2>/dev/null
has "$tmp/out" 'top_k(k=40) -> top_p(p=0.95, cum>=p) -> min_p(p=0.05) -> temperature'; check "--samplers separators and case" $?
expect 2 "dry_breakers\[0\] has token id 7: out of range, valid is \[0, 6\]" "--dry-breaker beyond the vocabulary" -- \
  "$bin" sample --logits "$tmp/l7.json" --dry-multiplier 0.8 --dry-breaker 7
expect 2 "dry_breakers\[0\] has token id 40000" "--dry-breaker beyond the model's vocabulary" -- \
  "$bin" generate -p "And" --max-new-tokens 1 --dry-multiplier 0.8 --dry-breaker 40000
expect 2 "has an empty item at position 2" "an empty id in a list" -- "$bin" sample --logits "$tmp/l7.json" --suppress-tokens 1,,2
expect 2 "item 2 = 99999999999 is out of range" "an id past int32" -- "$bin" sample --logits "$tmp/l7.json" --suppress-tokens 1,99999999999
expect 2 "stories260K.gguf' is a GGUF model, which carries its own tokenizer" "--tokenizer with a GGUF names both files" -- \
  "$bin" generate -m "$gguf" --tokenizer "$tok" -p "Once" --max-new-tokens 1
has "$tmp/err" "tok512.bin"; check "... including the tokenizer" $?
expect 2 "the embedded model is a GGUF" "--tokenizer with the embedded model" -- "$bin" generate --tokenizer "$tok" -p "And" --max-new-tokens 1
expect 2 "GGUF model, which carries its own tokenizer" "tokenize: --tokenizer with a GGUF" -- "$bin" tokenize -m "$gguf" --tokenizer "$tok" hello
printf 'And\000God' > "$tmp/nul.txt"
expect 2 "NUL byte at offset 3" "a NUL in a stdin prompt" -- sh -c '"$1" generate --max-new-tokens 1 < "$2"' sh "$bin" "$tmp/nul.txt"
# a long flag is quoted bounded (ll_quote): its start and its length, and the rest of the message stays
expect 2 "unknown flag '--$(zeros 60)\.\.\. (204 bytes)' (see logitlab sample --help)" "a long --flag=value is named by its start and length" -- \
  "$bin" sample --logits "$tmp/l7.json" "--$(zeros 200)=1"

# ---- 9. output ----
# raw bytes in the prompt and a byte-fallback token (<0xE2>, id 229, forced by a bias)
printf '\377\376 caf\303\251 \342\202' > "$tmp/bad_utf8.txt"
sh -c '"$1" generate --json --max-new-tokens 2 --logprobs 1 --temperature 0 --logit-bias 229=100 < "$2"' sh "$bin" "$tmp/bad_utf8.txt" \
  > "$tmp/gen.json" 2>/dev/null
check "generate --json with raw bytes runs" $?
valid_json "$tmp/gen.json"; check "generate --json is valid UTF-8 JSON" $?
has "$tmp/gen.json" '"prompt_bytes": \[255,254,32,99,97,102,195,169,32,226,130\]'; check "the prompt's exact bytes" $?
has "$tmp/gen.json" '"prompt": "\\ufffd\\ufffd café \\ufffd\\ufffd"'; check "invalid bytes are U+FFFD in the text" $?
has "$tmp/gen.json" '"bytes": \[226\]'; check "a byte token's exact bytes" $?
"$bin" inspect -p "$(printf 'caf\351')" --json --top 3 > "$tmp/insp.json" 2>/dev/null
valid_json "$tmp/insp.json" && has "$tmp/insp.json" '"prompt_bytes": \[99,97,102,233\]'; check "inspect --json with raw bytes" $?
"$bin" info --json -m "$gguf" > "$tmp/info.json" 2>/dev/null && valid_json "$tmp/info.json"; check "info --json" $?
if [ -w /dev/full ]; then
  expect 1 "writing output failed: No space left on device" "generate > /dev/full" -- sh -c '"$1" generate -p And --max-new-tokens 4 > /dev/full' sh "$bin"
  expect 1 "writing output failed: No space left on device" "generate --json > /dev/full" -- \
    sh -c '"$1" generate -p And --max-new-tokens 2 --json --quiet > /dev/full' sh "$bin"
  expect 1 "writing output failed: No space left on device" "sample > /dev/full" -- sh -c '"$1" sample --logits "$2" > /dev/full' sh "$bin" "$tmp/l7.json"
  expect 1 "writing output failed: No space left on device" "info > /dev/full" -- sh -c '"$1" info -m "$2" > /dev/full' sh "$bin" "$gguf"
fi
# a pipe whose reader is gone before the first write: EPIPE, a message and status 1, not death by SIGPIPE
"$py" -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
sys.stderr.write(p.stderr.decode())
sys.exit(0 if p.returncode == 1 else 1)' "$bin" generate -p And --max-new-tokens 200 --ignore-eos 2> "$tmp/err"
st=$?
[ $st -eq 0 ] && has "$tmp/err" "writing output failed: Broken pipe"; check "closed pipe: status 1 and a message" $?

# ---- 10. special files ----
if mkfifo "$tmp/fifo" 2>/dev/null; then
  expect 1 "is a FIFO (named pipe), not a regular file" "sample --logits FIFO" -- timeout 20 "$bin" sample --logits "$tmp/fifo"
  expect 1 "is a FIFO (named pipe), not a regular file" "-m FIFO" -- timeout 20 "$bin" generate -m "$tmp/fifo" -p x
  expect 1 "is a FIFO (named pipe), not a regular file" "--tokenizer FIFO" -- timeout 20 "$bin" generate -m "$l2c" --tokenizer "$tmp/fifo" -p x
fi
expect 1 "is a directory, not a regular file" "sample --logits DIR" -- "$bin" sample --logits "$tmp"
expect 1 "is a directory, not a regular file" "--tokenizer DIR" -- "$bin" generate -m "$l2c" --tokenizer "$tmp" -p x
expect 1 "reading standard input failed" "a directory on stdin" -- sh -c '"$1" generate --max-new-tokens 1 < "$2"' sh "$bin" "$tmp"
# the JSON logits reader: a 300-digit number is read whole, not cut; past a double or a float is an error
"$py" -c "print('[1, 0.' + '0' * 300 + '1, 2]')" > "$tmp/longnum.json"
smp --logits "$tmp/longnum.json" --temperature 0 > "$tmp/out" 2>/dev/null
has "$tmp/out" '"n_vocab":3,' && has "$tmp/out" '"selected":{"id":2,'; check "a 300-digit JSON number" $?
printf '[1, 1e999]' > "$tmp/e999.json"
expect 1 "number out of the range of a double at line 1, column 5" "a JSON number past a double" -- "$bin" sample --logits "$tmp/e999.json"
printf '[1, 1e300]' > "$tmp/e300.json"
expect 1 "logits\[1\] = 1e+300 is out of range" "a logit past a float" -- "$bin" sample --logits "$tmp/e300.json"
smp --logits - < "$tmp/l7.json" > "$tmp/out" 2>/dev/null
has "$tmp/out" '"n_vocab":7'; check "sample --logits - still reads stdin" $?

# ---- 11. messages: every numeric parser, the value as given ----
L="$tmp/l7.json"
expect 2 "\-\-temperature = 1e300 is out of range" "--temperature 1e300" -- "$bin" sample --logits "$L" --temperature 1e300
expect 2 "\-\-temperature = 1e-50 is out of range" "--temperature 1e-50 (would be 0)" -- "$bin" sample --logits "$L" --temperature 1e-50
expect 2 "\-\-top-p = 1e400 is out of range" "--top-p 1e400" -- "$bin" sample --logits "$L" --top-p 1e400
expect 2 "\-\-seed = 99999999999999999999 is out of range: valid is \[-1, 4294967295\]" "a 20-digit seed" -- \
  "$bin" sample --logits "$L" --seed 99999999999999999999
expect 2 "\-\-top-k = -99999999999999999999 is out of range" "a 20-digit negative" -- "$bin" sample --logits "$L" --top-k -99999999999999999999
expect 2 "\-\-top-k: ' 5' is not an integer" "leading space" -- "$bin" sample --logits "$L" --top-k " 5"
expect 2 "\-\-top-k: '5x' is not an integer" "trailing garbage" -- "$bin" sample --logits "$L" --top-k 5x
expect 2 "\-\-top-k: '0x10' is not an integer" "hex integer" -- "$bin" sample --logits "$L" --top-k 0x10
expect 2 "\-\-top-k: the value is empty" "empty integer" -- "$bin" sample --logits "$L" --top-k ""
expect 2 "\-\-min-p: '0x1p-2' is not a finite decimal number" "hex float" -- "$bin" sample --logits "$L" --min-p 0x1p-2
expect 2 "\-\-min-p: 'nan' is not a finite decimal number" "nan" -- "$bin" sample --logits "$L" --min-p nan
expect 2 "\-\-min-p: ' 0.1' is not a finite decimal number" "leading space (float)" -- "$bin" sample --logits "$L" --min-p " 0.1"
expect 2 "\-\-min-p: the value is empty" "empty float" -- "$bin" sample --logits "$L" --min-p ""
expect 2 "\-\-repetition-penalty: 'inf' is not a finite" "inf" -- "$bin" sample --logits "$L" --repetition-penalty inf
smp --logits "$L" --min-p -0 --top-k -0 > /dev/null 2>&1; check "-0 is a number" $?
expect 2 "\-t: item 1 = 0 is out of range: valid is \[1, 512\]" "bench -t 0" -- "$bin" bench -m "$gguf" -t 0
expect 2 "\-\-tokens: item 2 = 600 is out of range" "logits --tokens beyond the vocabulary" -- "$bin" logits -m "$gguf" --tokens 1,600
expect 2 "\-\-logit-bias '3=1e300': bias = 1e300 is out of range" "a bias beyond a float" -- "$bin" sample --logits "$L" --logit-bias 3=1e300
# a time limit that runs out during the prompt: no meaningless prompt speed, the reason instead
expect 0 "stopped after .* s, before the prompt was decoded; stopped: time" "max_time spent in the prompt" -- \
  "$bin" generate -p "And God said" --max-time 1e-9
# info: a file that is not a runnable model shows its metadata and fails with the loader's reason
expect 1 "architecture 'baichuan' is not supported" "info on a vocabulary-only GGUF fails" -- \
  "$bin" info -m "$shared/models/vocab/ggml-vocab-baichuan.gguf"
has "$tmp/out" "general.architecture"; check "... after printing its metadata" $?
printf 'not a model at all' > "$tmp/junk.bin"
"$bin" info -m "$tmp/junk.bin" > /dev/null 2>&1
[ $? -ne 0 ]; check "info on junk fails" $?

# ---- second wave: messages keep their point, -inf only for biases, nothing ignored silently ----
# a long --samplers list is quoted bounded, so the position of the empty name survives (it was cut at 512 bytes)
long100=$("$py" -c "print('top_k,' * 100 + ',top_p', end='')")
expect 2 "empty stage name at position 101 (names are separated" "an empty name after 100 stages keeps its position" -- \
  "$bin" sample --logits "$tmp/l7.json" --samplers "$long100"
has "$tmp/err" "(606 bytes)"; check "... and the list is shown by its start and length" $?
# a ~500-byte path does not push the reason out of the message
deep="$tmp/$(zeros 200 | tr 0 a)/$(zeros 200 | tr 0 b)/$(zeros 100 | tr 0 c)"
mkdir -p "$deep"
printf '[1, 2' > "$deep/bad.json"
expect 1 "bytes): JSON: .* at line 1" "a long logits path keeps the JSON reason" -- "$bin" sample --logits "$deep/bad.json"
head -c 100 "$gguf" > "$deep/cut.gguf"
expect 1 "bytes): .*byte offset" "a long model path keeps the GGUF reason" -- "$bin" generate -m "$deep/cut.gguf" -p x
# -inf is a value only for biases (where it bans); every other float flag refuses it like inf
expect 2 "\-\-dynatemp-range: '-inf' is not a finite decimal number$" "--dynatemp-range=-inf" -- \
  "$bin" sample --logits "$tmp/l7.json" --dynatemp-range=-inf
expect 2 "\-\-mirostat-tau: '-inf' is not a finite decimal number$" "--mirostat-tau=-inf" -- \
  "$bin" sample --logits "$tmp/l7.json" --mirostat 2 --mirostat-tau=-inf
expect 2 "\-\-temperature: '-inf' is not a finite" "--temperature -inf" -- "$bin" sample --logits "$tmp/l7.json" --temperature -inf
expect 2 "\-\-value: '-inf' is not a finite" "explain --value -inf" -- "$bin" explain temperature --value -inf
expect 2 "\-\-sequence-bias '1=x': bias: 'x' is not a finite decimal number (or -inf)" "a bias says -inf is allowed" -- \
  "$bin" sample --logits "$tmp/l7.json" --sequence-bias 1=x
smp --logits "$tmp/l7.json" --temperature 0 --logit-bias 3=-inf --sequence-bias 6=-inf > "$tmp/out" 2>/dev/null
has "$tmp/out" '"selected":{"id":1,'; check "--logit-bias and --sequence-bias still take -inf" $?
# a parameter of a stage that is off (mirostat, dynatemp, xtc, dry): an error naming what turns it on, not ignored
expect 2 "mirostat_tau = 5 is set but its stage is off, so nothing uses it: set mirostat = 1 or 2" "--mirostat-tau without mirostat" -- \
  "$bin" sample --logits "$tmp/l7.json" --mirostat-tau 5
expect 2 "mirostat_eta = 0.2 is set but its stage is off" "--mirostat-eta with --mirostat 0" -- \
  "$bin" sample --logits "$tmp/l7.json" --mirostat 0 --mirostat-eta 0.2
expect 2 "mirostat_tau = 5 is not used: only the llama.cpp profile has its stage" \
  "--mirostat-tau in the hf profile" -- "$bin" sample --logits "$tmp/l7.json" --profile hf --mirostat-tau 5
expect 2 "dynatemp_exponent = 2 is set but its stage is off, so nothing uses it: set dynatemp_range > 0" \
  "--dynatemp-exp without --dynatemp-range" -- "$bin" sample --logits "$tmp/l7.json" --dynatemp-exp 2
expect 2 "xtc_threshold = 0.2 is set but its stage is off, so nothing uses it: set xtc_probability > 0" \
  "--xtc-threshold without --xtc-probability" -- "$bin" sample --logits "$tmp/l7.json" --xtc-threshold 0.2
expect 2 "dry_base = 2 is set but its stage is off, so nothing uses it: set dry_multiplier > 0" \
  "--dry-base without --dry-multiplier" -- "$bin" sample --logits "$tmp/l7.json" --dry-base 2
expect 2 "dry_allowed_length = 3 is set but its stage is off" \
  "--dry-allowed-length with --dry-multiplier 0" -- "$bin" sample --logits "$tmp/l7.json" --dry-multiplier 0 --dry-allowed-length 3
smp --logits "$tmp/l7.json" --dynatemp-range 0.5 --dynatemp-exp 2 --xtc-probability 0.5 --xtc-threshold 0.2 \
  --dry-multiplier 0.8 --dry-base 2 --dry-allowed-length 3 > /dev/null 2>&1
check "the same parameters with their stages on" $?
smp --logits "$tmp/l7.json" --mirostat 2 --mirostat-tau 3 --mirostat-eta 0.2 > "$tmp/out" 2>/dev/null
has "$tmp/out" 'mirostat_v2(tau=3, eta=0.2'; check "--mirostat 2 with tau and eta" $?
# vLLM's min_p range is [0, 1]: a negative one is an error in the openai profile, not "off"
expect 2 "min_p = -0.1 is out of range: the openai profile accepts \[0, 1\]" "openai --min-p -0.1" -- \
  "$bin" sample --logits "$tmp/l7.json" --profile openai --min-p -0.1
# a warper greedy decoding leaves out is still range-checked: never "ignored" with a bad value
expect 2 "top_p = -0.5 is out of range" "hf greedy with --top-p -0.5" -- "$bin" sample --logits "$tmp/l7.json" --profile hf --top-p -0.5
expect 2 "top_k(k=-3)\|k = -3\|top_k = -3" "hf greedy with a bad per-stage top_k" -- \
  "$bin" sample --logits "$tmp/l7.json" --profile hf --samplers "top_k(k=-3),temperature"
# inspect says on stderr what it ignores (docs/semantics.md: "ignored, with a warning"); stdout is unchanged
expect 0 "hf profile: do_sample is false, so top_k is ignored" "inspect warns that hf ignores top_k without do_sample" -- \
  "$bin" inspect -p And --profile hf --top-k 3 --samplers temperature --top 2
has "$tmp/out" "chain: greedy" && ! has "$tmp/out" "do_sample"; check "... the warning is on stderr only" $?
"$bin" inspect -p And --top 2 > /dev/null 2> "$tmp/err"
[ ! -s "$tmp/err" ]; check "inspect with the defaults prints no warning (no seed note)" $?
# text from a model file cannot drive the terminal: general.name with an escape sequence
"$py" - "$gguf" "$tmp/esc.gguf" <<'PYEOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'general.name') + len(b'general.name') + 4 + 8
assert d[i:i + 5] == b'llama'
d[i:i + 5] = b'\x1b[2Jx'
open(sys.argv[2], 'wb').write(d)
PYEOF
timeout 60 "$bin" explain -m "$tmp/esc.gguf" < /dev/null > "$tmp/out" 2>&1
has "$tmp/out" 'Model: \\x1B\[2Jx (' && ! grep -q "$(printf '\033')" "$tmp/out"; check "the tour escapes general.name" $?
"$bin" info -m "$tmp/esc.gguf" > "$tmp/out" 2>&1
has "$tmp/out" 'name          \\x1B\[2Jx' && ! grep -q "$(printf '\033')" "$tmp/out"; check "info escapes general.name" $?
# crafted GGUF headers: general.alignment and general.name of the wrong type or value
mkgguf() { # out, then key:type:value triples (type s = string, u32, u64)
  "$py" - "$@" <<'PYEOF'
import struct, sys
out, kvs = sys.argv[1], sys.argv[2:]
b = b'GGUF' + struct.pack('<IQQ', 3, 0, len(kvs))
for kv in kvs:
    k, t, v = kv.split(':', 2)
    b += struct.pack('<Q', len(k)) + k.encode()
    if t == 's': b += struct.pack('<IQ', 8, len(v)) + v.encode()
    elif t == 'u32': b += struct.pack('<II', 4, int(v))
    elif t == 'u64': b += struct.pack('<IQ', 10, int(v))
open(out, 'wb').write(b)
PYEOF
}
mkgguf "$tmp/al3.gguf" general.architecture:s:llama general.alignment:u32:3
expect 1 "general.alignment = 3 (at byte offset [0-9]*) is invalid: valid is a power of two from 1 to 65536" \
  "general.alignment 3 is named" -- "$bin" info -m "$tmp/al3.gguf"
mkgguf "$tmp/al64.gguf" general.architecture:s:llama general.alignment:u64:32
expect 1 "general.alignment is a uint64 (at byte offset [0-9]*): it must be a uint32" "general.alignment of type uint64 is named" -- \
  "$bin" info -m "$tmp/al64.gguf"
mkgguf "$tmp/name.gguf" general.architecture:s:llama general.name:u32:7
expect 1 "metadata 'general.name' is a uint32, expected a string" "a general.name that is not a string is an error" -- \
  "$bin" info -m "$tmp/name.gguf"
# stdin has the same 1 GiB bound as a logits file
expect 1 "standard input has more than 1073741824 bytes (valid: at most 1073741824)" "sample --logits - over 1 GiB" -- \
  sh -c 'head -c 1073741825 /dev/zero | "$1" sample --logits -' sh "$bin"
# --tokenizer with a GGUF is refused by the library (ll_model_load), for every command
expect 2 "is a GGUF model, which carries its own tokenizer: the tokenizer file '.*tok512.bin'" "info: --tokenizer with a GGUF" -- \
  "$bin" info -m "$gguf" --tokenizer "$tok"
[ ! -s "$tmp/out" ]; check "... and info shows no metadata for it" $?
expect 2 "is a GGUF model, which carries its own tokenizer" "inspect: --tokenizer with a GGUF" -- \
  "$bin" inspect -m "$gguf" --tokenizer "$tok" -p x
"$bin" tokenize -m "$l2c" --tokenizer "$tok" hello > /dev/null 2>&1; check "a llama2.c checkpoint still takes --tokenizer" $?

finish "cli hostile"
