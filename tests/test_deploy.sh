#!/bin/bash
# test_deploy.sh - deploy/haproxy.cfg in front of two `logitlab serve`
# replicas on the loopback: requests reach both (each replica's /metrics
# counts its own), then one replica is killed (SIGKILL) while 6 clients
# keep sending, and every request succeeds except those that replica held
# when it died (none sent after the kill may fail). Every process it
# starts is ended by its PID.
#   tests/test_deploy.sh path/to/logitlab      (ctest: test_deploy)
set -u
BIN=${1:-build/logitlab}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# Debian puts haproxy in /usr/sbin, which a user's PATH may lack
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || { echo "FAIL: haproxy is not installed (apt-get install haproxy; scripts/test.sh does)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/test.sh installs it)"; exit 1; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }

# two replicas on free ports (--port 0, the port written to --port-file)
for r in a b; do
    "$BIN" serve --port 0 --port-file "$TMP/$r.port" --threads 1 --parallel 2 2>"$TMP/$r.log" &
    PIDS+=($!)
    eval "PID_$r=$!"
done
for i in $(seq 200); do [ -s "$TMP/a.port" ] && [ -s "$TMP/b.port" ] && break; sleep 0.05; done
PA=$(cat "$TMP/a.port" 2>/dev/null) PB=$(cat "$TMP/b.port" 2>/dev/null)
[ -n "$PA" ] && [ -n "$PB" ] || fail "the replicas did not start"
# a free port for haproxy: the kernel picks one, node releases it
PL=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

# deploy/haproxy.cfg with its three addresses replaced
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$PL/" -e "s/127\.0\.0\.1:8081/127.0.0.1:$PA/" -e "s/127\.0\.0\.1:8082/127.0.0.1:$PB/" \
    "$HERE/deploy/haproxy.cfg" >"$TMP/haproxy.cfg"
grep -q "127.0.0.1:$PB" "$TMP/haproxy.cfg" || fail "deploy/haproxy.cfg no longer has the addresses this test replaces"
"$HAPROXY" -c -q -f "$TMP/haproxy.cfg" || fail "haproxy rejects the configuration"
"$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PID_lb=$!
PIDS+=($PID_lb)

# the clients, in node (which the server's tests need anyway)
cat >"$TMP/client.mjs" <<'EOF'
const [lb, pa, pb, mode, arg] = process.argv.slice(2);
const url = (p, path) => `http://127.0.0.1:${p}${path}`;
// this replica's count of answered completions (its own /metrics)
async function served(port) {
  const t = await (await fetch(url(port, '/metrics'))).text();
  const m = t.match(/^logitlab_http_responses_total\{endpoint="\/v1\/completions",code="2xx"\} (\d+)/m);
  return Number(m[1]);
}
async function complete(stream) {
  const r = await fetch(url(lb, '/v1/completions'), { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'In the beginning', max_tokens: 24, temperature: 0.7, seed: 5, stream }) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`status ${r.status}: ${text.slice(0, 200)}`);
  if (stream ? !text.trimEnd().endsWith('data: [DONE]') : !JSON.parse(text).choices[0].text) throw new Error('incomplete answer');
}
if (mode === 'wait') { // until haproxy answers through to a replica
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url(lb, '/health'))).status === 200) process.exit(0); } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  process.exit(1);
}
if (mode === 'spread') { // N requests: each replica must answer some, all together N
  const [a0, b0] = [await served(pa), await served(pb)];
  const n = Number(arg);
  await Promise.all(Array.from({ length: 4 }, async (_, k) => { for (let i = k; i < n; i += 4) await complete(i % 2 === 0); }));
  const [a, b] = [(await served(pa)) - a0, (await served(pb)) - b0];
  console.log(`${n} requests through haproxy: replica A answered ${a}, replica B ${b}`);
  process.exit(a > 0 && b > 0 && a + b === n ? 0 : 1);
}
if (mode === 'alone') { // replica A is gone: all N answered by B
  const b0 = await served(pb);
  const n = Number(arg);
  for (let i = 0; i < n; i++) await complete(i % 2 === 0);
  const b = (await served(pb)) - b0;
  console.log(`${n} requests after the kill: replica B answered ${b}`);
  process.exit(b === n ? 0 : 1);
}
if (mode === 'load') { // 6 clients for arg seconds; the kill time comes on stdin
  let killedAt = Infinity;
  process.stdin.on('data', () => (killedAt = Date.now()));
  const end = Date.now() + Number(arg) * 1000;
  let ok = 0;
  const failed = [];
  await Promise.all(Array.from({ length: 6 }, async (_, k) => {
    for (let i = 0; Date.now() < end; i++) {
      const t0 = Date.now();
      try { await complete((k + i) % 2 === 0); ok++; } catch (e) { failed.push({ t0, msg: e.message }); }
    }
  }));
  process.stdin.destroy();
  const late = failed.filter((f) => f.t0 >= killedAt);
  console.log(`load through haproxy: ${ok + failed.length} requests, ${failed.length} failed ` +
    `(at most 6, those in flight at the kill), ${late.length} of them sent after the kill`);
  for (const f of failed) console.log(`  failed, sent ${f.t0 - killedAt} ms after the kill: ${f.msg}`);
  process.exit(killedAt !== Infinity && failed.length <= 6 && late.length === 0 && ok > 0 ? 0 : 1);
}
EOF
node "$TMP/client.mjs" "$PL" "$PA" "$PB" wait || fail "haproxy does not answer on port $PL"
node "$TMP/client.mjs" "$PL" "$PA" "$PB" spread 40 || fail "the requests did not reach both replicas"

# the load, and replica A killed 2 s into it
mkfifo "$TMP/kill"
node "$TMP/client.mjs" "$PL" "$PA" "$PB" load 6 <"$TMP/kill" &
PID_load=$!
PIDS+=($PID_load)
exec 3>"$TMP/kill"
sleep 2
kill -KILL "$PID_a"
wait "$PID_a" 2>/dev/null
echo killed >&3
exec 3>&-
wait "$PID_load" || fail "requests failed beyond those the killed replica held"
# and now everything goes to B, without a failure
node "$TMP/client.mjs" "$PL" "$PA" "$PB" alone 8 || fail "after the kill, not every request reached replica B"
echo "PASS: haproxy spread the requests over both replicas and took the killed one out"
