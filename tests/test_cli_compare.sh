#!/bin/sh
# test_cli_compare.sh - `logitlab compare`: every profile side by side on a
# logits file and on the embedded model. The selected tokens equal what
# `sample` and `inspect` give per profile with the same flags; the first
# difference of each pair names the right stage and kind in the classic
# cases (temperature + top_p: order; top_k unset: defaults; hf without
# do_sample: greedy; top_p's inclusive/exclusive cut: rule; penalties:
# history); a parameter one profile lacks is said in its column; --json
# parses and matches the table; --generate's tokens equal `generate
# --profile X` and the first divergence is where they part.
# Usage: test_cli_compare.sh path/to/logitlab path/to/source-root
set -u
bin=$1
root=$2
. "$(dirname "$0")/check.sh"
L="$root/examples/next-token-logits.json"
F="--do-sample --temperature 0.7 --top-p 0.9"

# ---- four columns on a logits file; the tokens equal `sample` per profile
"$bin" compare --logits "$L" $F --json > "$tmp/c.json" 2> "$tmp/err"
check "compare --json runs on a logits file" $?
"$bin" compare --logits "$L" $F --width 120 > "$tmp/c.txt" 2> "$tmp/err"
check "compare (table) runs" $?
for p in hf llama.cpp openai llama2.c; do
  "$bin" sample --logits "$L" --profile $p $F --seed 42 --compact > "$tmp/s_$p.json" 2>/dev/null
  python3 - "$tmp/c.json" "$tmp/s_$p.json" "$p" "$tmp/c.txt" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2])); p = sys.argv[3]
table = open(sys.argv[4]).read()
col = [x for x in c["profiles"] if x["profile"] == p][0]
assert col["ok"], col
assert col["chain"] == s["chain"], (col["chain"], s["chain"])
assert col["selected"]["id"] == s["selected"]["id"], (col["selected"], s["selected"])
assert col["selected"]["p"] == s["selected"]["p"], (col["selected"], s["selected"])
# the table's "selected" line has the same id and p
import re
line = r"\n    %s +%d +p %.4f\n" % (re.escape(p), col["selected"]["id"], col["selected"]["p"])
assert re.search(line, table), line
PY
  check "$p: compare selects what sample selects (id and p), table = json" $?
done
python3 -c "
import json,sys; c=json.load(open('$tmp/c.json'))
assert [x['profile'] for x in c['profiles']] == ['hf','llama.cpp','openai','llama2.c']
assert len(c['differences']) == 6 and c['seed'] == 42" 
check "four columns, six pairs, seed 42" $?
for p in hf llama.cpp openai llama2.c; do
  head -40 "$tmp/c.txt" | grep -q "^  .*$p" ; check "table has the $p column" $?
done

# ---- the first difference of a pair: kind and stage
diff_is() { # json, a, b, kind, stage_a prefix, stage_b prefix
  python3 - "$@" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); a, b, kind, sa, sb = sys.argv[2:7]
d = [x for x in c["differences"] if x["a"] == a and x["b"] == b][0]
assert d["kind"] == kind, d
assert d["stage_a"].startswith(sa) and d["stage_b"].startswith(sb), d
PY
}
diff_is "$tmp/c.json" hf llama.cpp order temperature top_k; check "temperature + top_p: hf vs llama.cpp differ by order at temperature" $?
grep -q "hf vs llama.cpp: step 1, order: hf applies temperature at step 1" "$tmp/c.txt"; check "the table says the order difference" $?
diff_is "$tmp/c.json" openai llama2.c missing "top_p(" "llama2c_sample("; check "openai vs llama2.c: top_p is inside llama2.c's sampler" $?

"$bin" compare --logits "$L" --do-sample --json > "$tmp/d.json" 2>/dev/null
diff_is "$tmp/d.json" hf llama.cpp defaults "top_k(k=50" "top_k(k=40"; check "top_k unset: hf 50 vs llama.cpp 40 are defaults" $?
diff_is "$tmp/d.json" hf openai defaults "top_k(k=50" ""; check "top_k unset: hf 50 vs openai off are defaults" $?

"$bin" compare --logits "$L" --temperature 0.7 --json > "$tmp/g.json" 2>/dev/null
diff_is "$tmp/g.json" hf llama.cpp greedy greedy ""; check "hf without --do-sample: greedy" $?
python3 -c "
import json; c=json.load(open('$tmp/g.json'))
h=c['profiles'][0]; assert 'do_sample is not set' in h['greedy_because'], h
d=c['differences'][0]; assert 'hf decodes greedily' in d['why'], d"
check "the greedy reason names do_sample" $?

python3 -c "import json,math; print(json.dumps([math.log(x) for x in [0.5,0.3,0.1,0.1]]))" > "$tmp/tp.json"
"$bin" compare --logits "$tmp/tp.json" --do-sample --top-k 0 --top-p 0.8 --min-p 0 --temperature 1 --profiles hf,llama.cpp --json > "$tmp/r.json" 2>/dev/null
diff_is "$tmp/r.json" hf llama.cpp rule "top_p(" "top_p("; check "top_p at the boundary: an inclusive vs exclusive rule" $?
python3 -c "
import json; c=json.load(open('$tmp/r.json'))
d=c['differences'][0]; assert 'exclusive' in d['why'] and 'inclusive' in d['why'] and 'hf keeps 2' in d['why'] and 'llama.cpp keeps 3' in d['why'], d"
check "the rule difference says inclusive/exclusive and the counts" $?
for p in hf llama.cpp; do
  "$bin" sample --logits "$tmp/tp.json" --profile $p --do-sample --top-k 0 --top-p 0.8 --min-p 0 --temperature 1 --seed 42 --compact --trace > "$tmp/tp_$p.json" 2>/dev/null
done
python3 -c "
import json; c=json.load(open('$tmp/r.json'))
for col in c['profiles']:
    s=json.load(open('$tmp/tp_%s.json' % col['profile']))
    n=[t['n_after'] for t in s['trace'] if t['stage'].startswith('top_p')]
    m=[t['n_after'] for t in col['stages'] if t['name']=='top_p']
    assert n == m, (n, m)"
check "top_p's kept counts equal sample --trace's" $?

# 106 (the top token) 65 tokens back: hf counts it, llama.cpp's window of 64 does not
hist=106$(python3 -c "print(',1' * 64)")
"$bin" compare --logits "$L" --do-sample --repetition-penalty 1.3 --history "$hist" --profiles hf,llama.cpp --json > "$tmp/h.json" 2>/dev/null
diff_is "$tmp/h.json" hf llama.cpp history penalties penalties; check "repetition penalty: which tokens it sees (history)" $?

# ---- a parameter one profile lacks: its column says so, the rest run
"$bin" compare --logits "$L" --do-sample --frequency-penalty 0.5 --json > "$tmp/m.json" 2>/dev/null
check "a parameter hf lacks does not abort compare" $?
python3 -c "
import json; c=json.load(open('$tmp/m.json'))
h=c['profiles'][0]; assert not h['ok'] and 'frequency_penalty is not a parameter of the hf profile' in h['error'], h
assert c['profiles'][1]['ok'] and c['profiles'][2]['ok']"
check "hf's column: frequency_penalty is not a parameter of the hf profile" $?
"$bin" compare --logits "$L" --do-sample --frequency-penalty 0.5 --width 200 > "$tmp/m.txt" 2>/dev/null
grep -q "frequency_penalty is not a parameter of the" "$tmp/m.txt"; check "the table shows it in the column" $?

# ---- the embedded model: the tokens equal `inspect` per profile
"$bin" compare -p "And God said" $F --json > "$tmp/mc.json" 2> "$tmp/err"
check "compare on the embedded model" $?
for p in hf llama.cpp openai llama2.c; do
  "$bin" inspect -p "And God said" --profile $p $F --seed 42 --json > "$tmp/i_$p.json" 2>/dev/null
  python3 - "$tmp/mc.json" "$tmp/i_$p.json" "$p" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); i = json.load(open(sys.argv[2])); p = sys.argv[3]
col = [x for x in c["profiles"] if x["profile"] == p][0]
assert col["chain"] == i["chain"] and col["selected"]["id"] == i["selected"], (col, i["selected"])
# every stage's counts and top probabilities equal inspect's
for a, b in zip(col["stages"], i["stages"]):
    assert a["n_after"] == b["n_after"] and a["mass_removed"] == b["mass_removed"], (a, b)
    for x, y in zip(a["top_after"], b["top_after"]):
        assert x["id"] == y["id"] and x["p"] == y["p"], (x, y)
PY
  check "$p: compare on the model = inspect (selected, every stage)" $?
done

# ---- --generate: each profile's tokens = generate --profile X; divergence marked
"$bin" compare -p "And God said" $F --generate 10 --json > "$tmp/gen.json" 2>/dev/null
check "compare --generate runs" $?
for p in hf llama.cpp openai llama2.c; do
  "$bin" generate -p "And God said" --profile $p $F --seed 42 --max-new-tokens 10 --json > "$tmp/gen_$p.json" 2>/dev/null
done
python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/gen.json"))["generate"]
toks = {}
for g in c["profiles"]:
    ref = json.load(open("%s/gen_%s.json" % (t, g["profile"])))["results"][0]
    assert g["tokens"] == ref["tokens"], (g["profile"], g["tokens"], ref["tokens"])
    assert g["text"] == ref["text"]
    toks[g["profile"]] = g["tokens"]
def first(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]: return i
    return None if len(a) == len(b) else min(len(a), len(b))
ds = [first(a, b) for x, a in toks.items() for y, b in toks.items() if x < y]
ds = [d for d in ds if d is not None]
assert c["first_divergence"] == (min(ds) if ds else None), (c["first_divergence"], ds)
for pr in c["pairs"]:
    assert pr["first_divergence"] == first(toks[pr["a"]], toks[pr["b"]]), pr
PY
check "--generate: tokens = generate --profile X, first divergence where they part" $?
"$bin" compare -p "And God said" $F --generate 10 --width 120 > "$tmp/gen.txt" 2>/dev/null
d=$(python3 -c "import json; print(json.load(open('$tmp/gen.json'))['generate']['first_divergence'] + 1)")
grep -q "marks the first token where they differ (token $d)" "$tmp/gen.txt"; check "the table marks the divergence at token $d" $?
[ "$(grep -c -e '|' -e '│' "$tmp/gen.txt")" -ge 4 ]; check "each continuation has the mark" $?

# ---- control bytes in token text are escaped
if LC_ALL=C grep -q "$(printf '\033')" "$tmp/gen.txt" "$tmp/c.txt"; then r=1; else r=0; fi
check "no raw escape bytes in the table" $r

# ---- values HF accepts and ignores, logitlab rejects: the hf column says what HF does
# (ll_profile_note_find), the other columns only the rejection; table and --json agree
for case in "top_p|--top-p 1.5|TopPLogitsWarper" "typical_p|--typical-p 1.5|TypicalLogitsWarper" \
            "epsilon_cutoff|--epsilon-cutoff 1.5|EpsilonLogitsWarper" "eta_cutoff|--eta-cutoff -1|EtaLogitsWarper" \
            "no_repeat_ngram_size|--no-repeat-ngram-size -1|NoRepeatNGramLogitsProcessor" \
            "min_new_tokens|--min-new-tokens -1|MinNewTokensLengthLogitsProcessor" \
            "suppress_tokens|--suppress-tokens 3,999999|SuppressTokensLogitsProcessor"; do
  param=${case%%|*}; rest=${case#*|}; flags=${rest%%|*}; cls=${rest#*|}
  "$bin" compare --logits "$L" --do-sample $flags --json > "$tmp/d.json" 2> "$tmp/err"
  st=$?
  "$bin" compare --logits "$L" --do-sample $flags --width 1000 > "$tmp/d.txt" 2>> "$tmp/err"
  [ $st -eq 0 ] && [ $? -eq 0 ] && python3 - "$tmp/d.json" "$tmp/d.txt" "$param" "$cls" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); table = open(sys.argv[2]).read(); param, cls = sys.argv[3], sys.argv[4]
cols = {x["profile"]: x for x in c["profiles"]}
hf = cols["hf"]
assert not hf["ok"], hf
d = hf["departure"]
assert d["parameter"] == param, d
assert cls in d["framework"], d                        # what HF does: adds no processor / skips the id
assert d["logitlab"] == hf["error"] and param in hf["error"], d
want = "Hugging Face transformers generate() accepts %s and %s; logitlab rejects it: %s" % (d["value"], d["framework"], hf["error"])
assert d["text"] == want, (d["text"], want)
assert want in table, "table lacks: " + want
assert "-  (logitlab rejects %s; hf ignores it)" % d["value"] in table
for name, col in cols.items():
    if name != "hf": assert "departure" not in col, (name, col)   # no note for the other profiles
PY
  check "$param: the hf column says what HF does with it and why logitlab rejects it" $?
done
"$bin" compare --logits "$L" --do-sample --top-p -0.5 > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "top_p = -0.5"
check "a value no framework accepts is still one error" $?
"$bin" compare --logits "$L" --min-new-tokens -1.5 > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "min-new-tokens"
check "a non-integer for an integer flag is still refused at the flag" $?

# ---- bad input: status 2, the value and the range named
"$bin" compare --logits "$L" --profile hf > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "--profiles"
check "--profile is refused, pointing to --profiles" $?
"$bin" compare --logits "$L" --top 0 > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "0" && has "$tmp/err" "64"
check "--top 0 names the value and the range" $?
"$bin" compare --logits "$L" --profiles hf,hf > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "twice"
check "--profiles hf,hf is an error" $?
"$bin" compare --logits "$L" --profiles hf,gpt > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "gpt"
check "an unknown profile is named" $?
"$bin" compare --logits "$L" --generate 3 > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "needs a model"
check "--generate needs a model" $?
"$bin" compare > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "-p PROMPT"
check "no input is an error" $?
printf '[1.0, "nan", 2.0]' > "$tmp/nan.json"
"$bin" compare --logits "$tmp/nan.json" > /dev/null 2> "$tmp/err"; [ $? -eq 2 ] && has "$tmp/err" "logit\[1\]"
check "a NaN logit is one error naming its index, not four columns" $?
"$bin" compare --logits "$L" --history 1,999 > /dev/null 2> "$tmp/err"; [ $? -ne 0 ] && has "$tmp/err" "999"
check "a history id past the vocabulary is named" $?

finish "test_cli_compare"
