#!/bin/sh
# test_cli_generate.sh - `logitlab generate` end to end on stories260K:
# streaming equals --json text, seeds reproduce, stop strings, beams,
# logprobs, stdin prompts, errors, --chat (templates as ll_chat_apply renders
# them), and Ctrl-C keeping what was generated.
# Usage: test_cli_generate.sh path/to/logitlab path/to/shared
set -u
bin=$1
model=$2/models/stories260K.gguf
. "$(dirname "$0")/check.sh"
[ -f "$model" ] || { echo "missing $model (the shared test data is required)"; exit 1; }
gen() { "$bin" generate -m "$model" "$@"; }

# greedy: the text stories260K's reference run gives (expected/stories260K.greedy.txt starts so)
gen -p "Once upon a time" --temperature 0 --max-new-tokens 12 > "$tmp/out" 2> "$tmp/err"
check "greedy runs" $?
printf ', there was a little girl named Lily. She\n' | cmp -s - "$tmp/out"; check "greedy text streamed to stdout" $?
has "$tmp/err" 'tokens/s'; check "tokens/s on stderr" $?
has "$tmp/err" 'stopped: length'; check "stop reason on stderr" $?

gen -p "Once upon a time" --temperature 0 --max-new-tokens 12 --json --logprobs 2 > "$tmp/json" 2>/dev/null
check "--json runs" $?
has "$tmp/json" '"text": ", there was a little girl named Lily. She"'; check "--json text equals the streamed text" $?
has "$tmp/json" '"stop_reason": "length"'; check "--json stop reason" $?
has "$tmp/json" '"raw_logprob"' && has "$tmp/json" '"processed_logprob"' && has "$tmp/json" '"top_raw"'
check "--json logprobs, raw and processed" $?
has "$tmp/json" '"generated_tokens_per_second"'; check "--json timings" $?

# a stop string across tokens is cut, and its reason given
gen -p "Once upon a time" --temperature 0 --max-new-tokens 40 --stop "girl na" --json > "$tmp/json" 2>/dev/null
has "$tmp/json" '"text": ", there was a little "' && has "$tmp/json" '"stop_reason": "stop_string"'
check "stop string removed from the text" $?

# seeds: the same seed gives the same text with 1 and 2 threads; another seed differs
gen -p "Once upon a time" --seed 7 --max-new-tokens 40 -t 1 > "$tmp/a" 2>/dev/null
gen -p "Once upon a time" --seed 7 --max-new-tokens 40 -t 2 > "$tmp/b" 2>/dev/null
cmp -s "$tmp/a" "$tmp/b"; check "seeded sampling is reproducible across thread counts" $?
gen -p "Once upon a time" --seed 8 --max-new-tokens 40 > "$tmp/c" 2>/dev/null
! cmp -s "$tmp/a" "$tmp/c"; check "another seed, another text" $?
gen -p "Once upon a time" --seed 7 --max-new-tokens 40 -n 3 --json > "$tmp/json" 2>/dev/null
[ "$(grep -c '"stop_reason"' "$tmp/json")" -eq 3 ]; check "-n 3 gives three samples" $?

# beams
gen -p "Once upon a time" --profile hf --num-beams 4 --num-return-sequences 3 --max-new-tokens 10 --json > "$tmp/json" 2>/dev/null
[ $? -eq 0 ] && [ "$(grep -c '"stop_reason"' "$tmp/json")" -eq 3 ]; check "beam search returns 3 sequences" $?
gen -p "Once upon a time" --profile hf --num-beams 2 --early-stopping never --length-penalty 0 --max-new-tokens 5 > /dev/null 2>&1
check "--early-stopping never" $?

# the prompt from stdin; max_length counts it
printf 'Once upon a time\n' | gen --temperature 0 --max-new-tokens 12 > "$tmp/out" 2>/dev/null
printf ', there was a little girl named Lily. She\n' | cmp -s - "$tmp/out"; check "prompt from stdin" $?
gen -p "Once upon a time" --profile hf --max-length 9 --json > "$tmp/json" 2>/dev/null
[ "$(tr -d ' \n' < "$tmp/json" | sed 's/.*"tokens":\[\([0-9,]*\)\].*/\1/' | awk -F, '{print NF}')" -eq 4 ]
check "max_length 9 with a 5-token prompt gives 4 tokens" $?

# hf without do_sample: a temperature is ignored (greedy, as transformers does), and
# generate and inspect say so on stderr; stdout is what greedy gives
gen -p "Once upon a time" --profile hf --temperature 0.7 --max-new-tokens 12 > "$tmp/out" 2> "$tmp/err"
check "hf --temperature 0.7 runs" $?
has "$tmp/err" 'hf profile: do_sample is false, so temperature is ignored (greedy' && has "$tmp/err" 'greedy decoding'
check "generate: the do_sample warning on stderr" $?
printf ', there was a little girl named Lily. She\n' | cmp -s - "$tmp/out"; check "generate: hf without do_sample decodes greedily" $?
gen -p "Once upon a time" --profile hf --do-sample --temperature 0.7 --max-new-tokens 12 > /dev/null 2> "$tmp/err"
! has "$tmp/err" 'do_sample is false'; check "generate: no warning with --do-sample" $?
"$bin" inspect -m "$model" -p "Once upon a time" --profile hf --temperature 0.7 --json > "$tmp/json" 2> "$tmp/err"
check "inspect hf --temperature 0.7 runs" $?
has "$tmp/err" 'hf profile: do_sample is false, so temperature'; check "inspect: the do_sample warning on stderr" $?
has "$tmp/json" '"chain": "greedy"' && ! has "$tmp/json" 'do_sample is false'
check "inspect: the chain is greedy, stdout has no warning" $?

# errors: exit status 2 and a message that names the value
gen -p "x" --top-p 1.7 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" 'top_p = 1.7 is out of range'; check "bad value rejected" $?
gen -p "x" --frobnicate > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" "unknown flag '--frobnicate'"; check "unknown flag rejected" $?
gen -p "Once upon a time there was a girl" -c 4 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" 'context holds 4'; check "prompt longer than the context rejected" $?
gen -p "x" --early-stopping maybe > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && has "$tmp/err" "'maybe' is not one of true, false, never"; check "bad early_stopping rejected" $?
"$bin" generate -m "$tmp/missing.gguf" -p "x" > /dev/null 2> "$tmp/err"
[ $? -ne 0 ] && has "$tmp/err" 'missing.gguf'; check "missing model named" $?

# --chat: the prompt is the user message, rendered with the model's template
# (docs/chat.md). The embedded model has none: logitlab's own format, said once on stderr.
hasf() { grep -qF -- "$2" "$1"; }
"$bin" generate -p "Hello!" --chat --system "Be brief." --temperature 0 --max-new-tokens 8 -n 2 --json > "$tmp/json" 2> "$tmp/err"
check "--chat on the embedded model runs" $?
hasf "$tmp/json" '"chat_prompt": "System: Be brief.\n\nUser: Hello!\n\nAssistant:"'; check "--chat: the logitlab format in --json" $?
hasf "$tmp/json" '"prompt": "Hello!"'; check "--chat: --json keeps the user message as the prompt" $?
[ "$(grep -c 'no chat template; using logitlab' "$tmp/err")" -eq 1 ]; check "--chat: the fallback said once on stderr" $?
# rendered, then tokenized and generated as usual: the same as giving the rendered text as the prompt
"$bin" generate -p "$(printf 'System: Be brief.\n\nUser: Hello!\n\nAssistant:')" --temperature 0 --max-new-tokens 8 -n 2 --json > "$tmp/json2" 2>/dev/null
grep -v '"prompt\|"chat_prompt\|second' "$tmp/json" > "$tmp/a"
grep -v '"prompt\|"chat_prompt\|second' "$tmp/json2" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b"; check "--chat generates what the rendered prompt generates" $?
"$bin" generate -p "Hello!" --chat --temperature 0 --max-new-tokens 2 --verbose > /dev/null 2> "$tmp/err"
hasf "$tmp/err" 'chat template logitlab (none in the model)' && hasf "$tmp/err" 'User: Hello!'
check "--verbose shows the rendered chat prompt" $?
"$bin" generate -p "Hello!" --chat --temperature 0 --max-new-tokens 2 --quiet > /dev/null 2> "$tmp/err"
[ ! -s "$tmp/err" ]; check "--chat --quiet: nothing on stderr" $?

# a GGUF's own template (Llama 3.1's, in the llama3 arch file): exactly the Jinja rendering of
# tests/data/chat/jinja_renders.json (llama3, system_user, generation prompt) without the BOS text
arch=$2/models/arch
llama3_sys='"chat_prompt": "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"'
"$bin" generate -m "$arch/synth-a1-llama3-Q8_0.gguf" -p "Hello!" --system "You are a helpful assistant." --chat \
  --temperature 0 --max-new-tokens 2 --json > "$tmp/json" 2> "$tmp/err"
check "--chat on the llama3 arch file runs" $?
hasf "$tmp/json" "$llama3_sys"; check "--chat: Llama 3.1's template rendered as ll_chat_apply does" $?
! hasf "$tmp/err" 'no chat template'; check "--chat: no fallback note when the model has a template" $?
# a family by name overrides the model's (qwen2.5: Qwen2.5's default system message, jinja_renders.json's qwen2 user case)
"$bin" generate -m "$arch/synth-a1-llama3-Q8_0.gguf" -p "Hello!" --chat --chat-template qwen2.5 \
  --temperature 0 --max-new-tokens 2 --json > "$tmp/json" 2>/dev/null
hasf "$tmp/json" '"chat_prompt": "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"'
check "--chat-template qwen2.5 overrides the model's template" $?
# the qwen2 file's own template, once logitlab runs the qwen2 architecture (jinja_renders.json, qwen2 system_user)
"$bin" generate -m "$arch/synth-a1-qwen2-Q8_0.gguf" -p "Hello!" --system "You are a helpful assistant." --chat \
  --temperature 0 --max-new-tokens 2 --json > "$tmp/json" 2> "$tmp/err"
st=$?
if [ $st -ne 0 ] && hasf "$tmp/err" "architecture 'qwen2' is not supported"; then
  echo "note: qwen2 not supported yet; its template check skipped"
else
  [ $st -eq 0 ] && hasf "$tmp/json" '"chat_prompt": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"'
  check "--chat: Qwen2.5's template rendered as ll_chat_apply does" $?
fi

# --chat errors: exit status 2 and what to do
gen -p "x" --system "Be brief." > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && hasf "$tmp/err" '--system needs --chat'; check "--system without --chat rejected" $?
gen -p "x" --chat-template chatml > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && hasf "$tmp/err" '--chat-template needs --chat'; check "--chat-template without --chat rejected" $?
gen -p "x" --chat --chat-template frobnicate > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && hasf "$tmp/err" "chat template not recognised: it starts 'frobnicate'" && hasf "$tmp/err" 'llama3' \
  && hasf "$tmp/err" 'chatml' && hasf "$tmp/err" 'gemma' && hasf "$tmp/err" 'logitlab'
check "--chat-template with an unknown name fails naming the families" $?
"$bin" generate -m "$arch/synth-a1-llama3-Q8_0.gguf" -p "x" --chat --chat-template gemma --system "s" > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && hasf "$tmp/err" 'System role not supported'; check "--chat: a conversation the template refuses" $?

# Ctrl-C: a long run interrupted keeps its text and says why it stopped
# (the binary itself in the background: a shell function would run in a subshell that gets the signal)
"$bin" generate -m "$model" -p "Once upon a time" --ignore-eos -c 4096 -n 16 --json > "$tmp/json" 2>/dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid
st=$?
[ $st -eq 130 ] && has "$tmp/json" '"stop_reason": "interrupted"' && has "$tmp/json" '"text": ", there'
check "SIGINT stops cleanly with the text so far (status $st)" $?

# --one-token-prompt: a 17-token prompt through the one-token kernels runs to its
# length, also with --kv-type f16 (what it computes: tests/test_batch.c)
gen -p "Once upon a time, there was a little girl named Lily. She" --one-token-prompt --max-new-tokens 8 --temperature 0 \
  --json --quiet >"$tmp/otp" 2>"$tmp/err"
st=$?
[ $st -eq 0 ] && has "$tmp/otp" '"n_prompt_tokens": 17' && has "$tmp/otp" '"stop_reason": "length"'
check "--one-token-prompt runs a long prompt (status $st: $(cat "$tmp/err"))" $?
gen -p "Once upon a time" --one-token-prompt --kv-type f16 --max-new-tokens 4 --quiet >/dev/null 2>&1
check "--one-token-prompt with --kv-type f16" $?

finish "cli generate"
