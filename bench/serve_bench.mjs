// serve_bench.mjs - what `logitlab serve` does with many users: aggregate
// generated tokens/s and time to first token at 1, 4 and 8 concurrent
// streams, and what the server adds to one stream compared with
// `logitlab generate` on the same model, prompt and length.
//
//   node bench/serve_bench.mjs LOGITLAB MODEL [--streams 1,4,8] [--tokens 128]
//        [--threads 2] [--rounds 3] [--kv-type f32|f16|q8_0] [--json]
//
// Each stream is a streamed completion of exactly --tokens tokens
// (ignore_eos, temperature 0.8, its own seed). A round runs each
// concurrency level in turn, its streams at once; the aggregate rate is all
// streams' tokens over the level's wall time, "vs 1 stream" the median of
// the per-round ratios to the one-stream rate, time to first token is per
// stream (request sent -> first token chunk). The single-stream comparison interleaves `logitlab generate
// --json` (its generated_tokens_per_second) with one server stream's rate
// after its first token, round by round, and reports the median of the
// paired ratios. Medians over rounds; the machine should be otherwise idle.
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function usage(msg) {
  if (msg) console.error(`serve_bench: ${msg}`);
  console.error('usage: node bench/serve_bench.mjs LOGITLAB MODEL [--streams 1,4,8] [--tokens 128] [--threads 2] [--rounds 3] [--kv-type f32|f16|q8_0] [--json]');
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = { streams: [1, 4, 8], tokens: 128, threads: 2, rounds: 3, kvType: 'f32', json: false };
const pos = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const int = (lo, hi) => {
    const v = Number(args[++i]);
    if (!Number.isInteger(v) || v < lo || v > hi) usage(`${a} ${args[i]} is out of range: valid is [${lo}, ${hi}]`);
    return v;
  };
  if (a === '--streams') {
    opt.streams = String(args[++i]).split(',').map(Number);
    if (!opt.streams.every((n) => Number.isInteger(n) && n >= 1 && n <= 64)) usage(`--streams ${args[i]}: whole numbers in [1, 64]`);
  } else if (a === '--tokens') opt.tokens = int(1, 4096);
  else if (a === '--threads') opt.threads = int(1, 512);
  else if (a === '--rounds') opt.rounds = int(1, 100);
  else if (a === '--kv-type') {
    opt.kvType = String(args[++i]);
    if (!['f32', 'f16', 'q8_0'].includes(opt.kvType)) usage(`--kv-type ${opt.kvType}: valid are f32, f16 and q8_0`);
  } else if (a === '--json') opt.json = true;
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else pos.push(a);
}
if (pos.length !== 2) usage();
const [BIN, MODEL] = pos;
const PROMPT = 'And God said, Let there be light';
const parallel = Math.max(...opt.streams);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'logitlab-bench-'));
  const portFile = join(dir, 'port');
  const proc = spawn(BIN, ['serve', '-m', MODEL, '--port', '0', '--port-file', portFile, '--threads', String(opt.threads),
    '--parallel', String(parallel), '--ctx-size', String(64 + opt.tokens), '--kv-type', opt.kvType],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 1200 && !existsSync(portFile); i++) await sleep(25);
  if (!existsSync(portFile)) throw new Error('the server did not start');
  return { proc, url: `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}` };
}

// One streamed completion: time to first token, the rate after it, tokens.
// The client shares the server's CPUs, so it does little per event: node's
// own http module (fetch's stream reader cost twice the CPU, about 0.3 ms a
// token, which at 8 streams came out of the server's two cores), each
// event counted as a token when it carries a "text", parsed only when it
// is an error; the first and last events are parsed to check their shape.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function stream(url, seed) {
  const u = new URL(url);
  const body = JSON.stringify({ prompt: PROMPT, max_tokens: opt.tokens, ignore_eos: true, temperature: 0.8, seed, stream: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0, n = 0, tail = '', firstEv = null, lastEv = null;
    const req = http.request({ host: u.hostname, port: u.port, path: '/v1/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => reject(new Error(`status ${res.statusCode}: ${text}`)));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (c) => {
        const s = tail + c;
        let i = 0, j;
        while ((j = s.indexOf('\n\n', i)) >= 0) {
          const ev = s.slice(i, j);
          i = j + 2;
          if (!ev.startsWith('data: {')) continue;
          if (ev.startsWith('data: {"error"')) return reject(new Error(JSON.parse(ev.slice(6)).error.message));
          if (!ev.includes('"text":')) continue;
          n++;
          if (n === 1) {
            first = performance.now();
            firstEv = ev;
          }
          lastEv = ev;
        }
        tail = s.slice(i);
      });
      res.on('end', () => {
        const end = performance.now();
        if (n !== opt.tokens) return reject(new Error(`a stream gave ${n} tokens, not ${opt.tokens}`));
        for (const ev of [firstEv, lastEv])
          if (typeof JSON.parse(ev.slice(6)).choices?.[0]?.text !== 'string') return reject(new Error(`not a completion chunk: ${ev}`));
        resolve({ ttft: (first - t0) / 1000, rate: (n - 1) / ((end - first) / 1000), end });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function generateRate() {
  const out = execFileSync(BIN, ['generate', '-m', MODEL, '-p', PROMPT, '--json', '--threads', String(opt.threads),
    '--profile', 'openai', '--max-new-tokens', String(opt.tokens), '--ignore-eos', '--temperature', '0.8', '--seed', '1',
    '--kv-type', opt.kvType],
  { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out).timings.generated_tokens_per_second;
}

const server = await startServer();
const result = { model: MODEL, cpu: cpus()[0]?.model, threads: opt.threads, tokens: opt.tokens, rounds: opt.rounds,
  kv_type: opt.kvType, streams: [] };
try {
  await stream(server.url, 0); // warm-up: pages in the weights
  // the concurrency levels interleaved round by round, so that a noisy
  // moment hits all of them; ratios to one stream are paired per round
  const agg = opt.streams.map(() => []), ttft = opt.streams.map(() => []), rel = opt.streams.map(() => []);
  for (let r = 0; r < opt.rounds; r++) {
    const base = [];
    for (const [k, c] of opt.streams.entries()) {
      const t0 = performance.now();
      const rs = await Promise.all(Array.from({ length: c }, (_, i) => stream(server.url, 1000 * r + i)));
      const wall = (Math.max(...rs.map((x) => x.end)) - t0) / 1000;
      agg[k].push((c * opt.tokens) / wall);
      ttft[k].push(...rs.map((x) => x.ttft));
      base[k] = (c * opt.tokens) / wall;
    }
    const one = opt.streams.indexOf(1);
    if (one >= 0) for (const k of opt.streams.keys()) rel[k].push(base[k] / base[one]);
  }
  for (const [k, c] of opt.streams.entries())
    result.streams.push({ streams: c, aggregate_tokens_per_second: median(agg[k]), ttft_median_seconds: median(ttft[k]),
      ttft_max_seconds: Math.max(...ttft[k]), vs_one_stream: rel[k].length ? median(rel[k]) : null });
  const ratios = [], gen = [], srv = [];
  for (let r = 0; r < opt.rounds; r++) {
    const g = generateRate(), s = (await stream(server.url, 7)).rate;
    gen.push(g);
    srv.push(s);
    ratios.push(s / g);
  }
  result.single_stream = { generate_tokens_per_second: median(gen), serve_tokens_per_second: median(srv),
    serve_over_generate: median(ratios) };
} finally {
  agent.destroy();
  server.proc.kill('SIGTERM');
}

if (opt.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(`${MODEL}: ${opt.tokens} tokens per stream, ${opt.threads} threads, ${opt.kvType} KV cache, median of ${opt.rounds} rounds (${result.cpu})`);
  console.log('streams  aggregate tok/s  vs 1 stream  TTFT median  TTFT max');
  for (const s of result.streams)
    console.log(`${String(s.streams).padStart(7)}  ${s.aggregate_tokens_per_second.toFixed(1).padStart(15)}  ` +
      `${s.vs_one_stream !== null ? s.vs_one_stream.toFixed(2).padStart(10) + 'x' : '          -'}  ` +
      `${(s.ttft_median_seconds * 1000).toFixed(0).padStart(9)} ms  ${(s.ttft_max_seconds * 1000).toFixed(0).padStart(6)} ms`);
  const ss = result.single_stream;
  console.log(`one stream: generate ${ss.generate_tokens_per_second.toFixed(1)} tok/s, serve ${ss.serve_tokens_per_second.toFixed(1)} tok/s ` +
    `(after the first token), serve/generate ${ss.serve_over_generate.toFixed(3)} (median of paired rounds)`);
}
