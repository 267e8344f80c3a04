#!/bin/bash
# test_conform.sh - `logitlab conform` against `logitlab serve` (the
# embedded model on a free loopback port): every probe honoured. Then
# against tests/conform/lying_server.mjs in front of the same server,
# dropping request fields: each dropped parameter is reported ignored and
# every other probe keeps its verdict. Also: --json parses, a server that
# answers garbage or cannot be reached exits 1, --api-key reaches a server
# that needs one, usage errors exit 2. Every process it starts is ended by
# its PID.
#   tests/test_conform.sh path/to/logitlab      (ctest: test_conform)
set -u
BIN=${1:-build/logitlab}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/test.sh installs it)"; exit 1; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -5 "$f"; }; done; exit 1; }

# waits for FILE (a port) and then for GET /health on it; prints the port
wait_port() {
    for _ in $(seq 600); do [ -s "$1" ] && break; sleep 0.05; done
    [ -s "$1" ] || return 1
    local port
    port=$(cat "$1")
    node -e '(async () => { for (let i = 0; i < 600; i++) { try { if ((await fetch(process.argv[1])).status === 200) process.exit(0); } catch {} await new Promise((r) => setTimeout(r, 50)); } process.exit(1); })()' \
        "http://127.0.0.1:$port/health" || return 1
    echo "$port"
}

# check FILE DEFAULT [NAME=VERDICT...]: the --json report has every probe at
# its expected verdict (DEFAULT unless named), at most max_requests requests
check() {
    node -e '
const fs = require("fs");
const [file, dflt, ...named] = process.argv.slice(1);
const r = JSON.parse(fs.readFileSync(file, "utf8"));
const want = Object.fromEntries(named.map((s) => s.split("=")));
let bad = 0;
if (!Array.isArray(r.probes) || r.probes.length < 17) { console.log(`probes: ${JSON.stringify(r.probes)}`); bad++; }
for (const p of r.probes ?? []) {
  const w = want[p.name] ?? dflt;
  delete want[p.name];
  if (p.verdict !== w) { console.log(`${p.name}: ${p.verdict}, expected ${w}: ${p.evidence}`); bad++; }
  if (typeof p.evidence !== "string" || !p.evidence || !p.sends || !p.judges || !p.parameter) { console.log(`${p.name}: fields missing`); bad++; }
}
for (const n of Object.keys(want)) { console.log(`no probe named ${n}`); bad++; }
if (!(r.requests > 0 && r.requests <= r.max_requests)) { console.log(`requests ${r.requests}, max ${r.max_requests}`); bad++; }
const sum = Object.values(r.summary).reduce((a, b) => a + b, 0);
if (sum !== r.probes.length) { console.log(`summary ${JSON.stringify(r.summary)} counts ${sum}`); bad++; }
process.exit(bad ? 1 : 0);' "$@"
}

"$BIN" serve --port 0 --port-file "$TMP/serve.port" --threads 1 --parallel 2 2>"$TMP/serve.log" &
PIDS+=($!)
P=$(wait_port "$TMP/serve.port") || fail "logitlab serve did not start"
URL=http://127.0.0.1:$P/v1

# 1. the real server: every probe honoured, as text and as JSON
"$BIN" conform --url "$URL" >"$TMP/honest.txt" 2>"$TMP/conform.log" || fail "conform exited $? against logitlab serve"
cat "$TMP/honest.txt"
grep -Eq '^[0-9]+ honoured, 0 ignored, 0 wrong, 0 error, 0 not testable$' "$TMP/honest.txt" ||
    fail "not every probe is honoured by logitlab serve"
"$BIN" conform --url "$URL/" --model logitlab --json >"$TMP/honest.json" 2>"$TMP/conform.log" ||
    fail "conform --json exited $?"
check "$TMP/honest.json" honoured || fail "the --json report against logitlab serve"

# 2. the lying server: DROP (fields) and the verdicts expected
lie() {
    local name=$1 drop=$2
    shift 2
    rm -f "$TMP/lie.port"
    node "$HERE/conform/lying_server.mjs" --upstream "http://127.0.0.1:$P" --drop "$drop" --port-file "$TMP/lie.port" \
        2>"$TMP/lie.log" &
    local pid=$!
    PIDS+=($pid)
    local lp
    lp=$(wait_port "$TMP/lie.port") || fail "the lying server did not start"
    "$BIN" conform --url "http://127.0.0.1:$lp/v1" --json >"$TMP/$name.json" 2>"$TMP/conform.log" ||
        fail "conform exited $? against the lying server ($drop)"
    check "$TMP/$name.json" "$@" || fail "dropping $drop"
    echo "dropping $drop: each caught"
    kill "$pid"
    wait "$pid" 2>/dev/null
}
lie a seed,logit_bias,top_k,presence_penalty,stop,n honoured seed=ignored top_k=ignored presence_penalty=ignored \
    stop=ignored n=ignored "logit_bias -100=ignored" "logit_bias +100=ignored"
lie b max_tokens,max_completion_tokens,min_p,top_p,repetition_penalty,frequency_penalty,logprobs,top_logprobs,echo \
    honoured max_tokens=ignored max_completion_tokens=ignored min_p=ignored top_p=ignored repetition_penalty=ignored \
    frequency_penalty=ignored logprobs=ignored top_logprobs=ignored echo=ignored
# without temperature the server samples: caught by the logprobs, and what
# is judged against greedy answers is then not testable
lie c temperature "not testable" "temperature 0=ignored" seed=honoured n=honoured logprobs=honoured \
    top_logprobs=honoured

# 3. garbage answers, no server, a key, usage errors
rm -f "$TMP/lie.port"
node "$HERE/conform/lying_server.mjs" --garbage --port-file "$TMP/lie.port" 2>"$TMP/lie.log" &
PIDS+=($!)
for _ in $(seq 600); do [ -s "$TMP/lie.port" ] && break; sleep 0.05; done
G=$(cat "$TMP/lie.port")
"$BIN" conform --url "http://127.0.0.1:$G/v1" >/dev/null 2>"$TMP/err.txt"
[ $? -eq 1 ] || fail "a server answering garbage at /models: exit status is not 1"
"$BIN" conform --url "http://127.0.0.1:$G/v1" --model m >/dev/null 2>"$TMP/err.txt"
[ $? -eq 1 ] || fail "a server answering garbage: exit status is not 1"
grep -q "not JSON" "$TMP/err.txt" || fail "the garbage answer's message: $(cat "$TMP/err.txt")"
FREE=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
"$BIN" conform --url "http://127.0.0.1:$FREE/v1" --timeout 5 >/dev/null 2>"$TMP/err.txt"
[ $? -eq 1 ] || fail "an unreachable server: exit status is not 1"
grep -q "no answer" "$TMP/err.txt" || fail "the unreachable server's message: $(cat "$TMP/err.txt")"

"$BIN" serve --port 0 --port-file "$TMP/key.port" --threads 1 --parallel 1 --api-key sekret 2>"$TMP/key.log" &
PIDS+=($!)
K=$(wait_port "$TMP/key.port") || fail "logitlab serve --api-key did not start"
"$BIN" conform --url "http://127.0.0.1:$K/v1" >/dev/null 2>"$TMP/err.txt"
[ $? -eq 1 ] || fail "a server that needs a key, without one: exit status is not 1"
grep -q "HTTP 401" "$TMP/err.txt" || fail "the missing key's message: $(cat "$TMP/err.txt")"
"$BIN" conform --url "http://127.0.0.1:$K/v1" --api-key sekret --json >"$TMP/key.json" 2>"$TMP/conform.log" ||
    fail "conform --api-key exited $?"
check "$TMP/key.json" honoured || fail "the report with --api-key"

for args in "" "--url ftp://x/v1" "--url http://127.0.0.1:$P/v1 --timeout 0" "--url http://127.0.0.1:$P/v1 --bogus" \
    "--url http://127.0.0.1:$P/v1 extra"; do
    # shellcheck disable=SC2086
    "$BIN" conform $args >/dev/null 2>"$TMP/err.txt"
    [ $? -eq 2 ] || fail "conform $args: exit status is not 2"
done
"$BIN" conform --help | grep -q "requests at most" || fail "--help does not say how many requests"
echo "PASS"
