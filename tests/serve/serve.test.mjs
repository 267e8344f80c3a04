// serve.test.mjs - `logitlab serve` through the official `openai` client:
// completions and chat, plain and streamed, n > 1, logprobs, logit_bias,
// seeds, stop, max_tokens, profile and trace (checked against `logitlab
// generate` and `logitlab inspect`), every error status, 16 clients at once
// (each answer equal to the same request alone), a client that goes away
// mid-stream, a full queue, and a clean stop on SIGTERM.
//
//   node --test tests/serve/serve.test.mjs   (LOGITLAB=path/to/logitlab)
// ctest runs it as test_serve; scripts/test.sh installs node and runs
// `npm ci` here first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const here = new URL('.', import.meta.url).pathname;
if (!existsSync(join(here, 'node_modules', 'openai'))) {
  throw new Error(`the openai package is missing: run 'npm ci' in ${here} (scripts/test.sh does)`);
}
const { default: OpenAI } = await import('openai');

const BIN = process.env.LOGITLAB || process.argv.find((a) => a.endsWith('/logitlab')) || 'build/logitlab';
const KEY = 'test-key';
const PROMPT = 'In the beginning';

// A server on a free loopback port (--port 0, the port read from --port-file).
async function startServer(args) {
  const dir = mkdtempSync(join(tmpdir(), 'logitlab-serve-'));
  const portFile = join(dir, 'port');
  const proc = spawn(BIN, ['serve', '--port', '0', '--port-file', portFile, '--threads', '1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
  for (let i = 0; i < 200 && !existsSync(portFile); i++) await sleep(25);
  const port = Number(readFileSync(portFile, 'utf8').trim());
  // the banner goes out before the port file, but its pipe may be read later
  for (let i = 0; i < 200 && !stderr.includes('logitlab serve:'); i++) await sleep(25);
  return { proc, port, url: `http://127.0.0.1:${port}`, exited, stderr: () => stderr };
}

let main, small, client;

before(async () => {
  main = await startServer(['--parallel', '4', '--api-key', KEY]);
  small = await startServer(['--parallel', '1', '--queue', '1']);
  client = new OpenAI({ baseURL: `${main.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30000 });
});

after(async () => {
  for (const s of [main, small]) if (s && s.proc.exitCode === null) s.proc.kill('SIGKILL');
});

const complete = (body) => client.completions.create({ model: 'logitlab', prompt: PROMPT, ...body });

async function raw(server, path, { method = 'POST', body, headers = {}, key = KEY } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  const r = await fetch(server.url + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text, headers: r.headers };
}

// `logitlab generate --json` with the same settings: the server's tokens must be these.
function cliGenerate(args) {
  const out = execFileSync(BIN, ['generate', '-p', PROMPT, '--json', '--threads', '1', ...args], { encoding: 'utf8' });
  return JSON.parse(out).results;
}

const ids = (choice) => choice.trace.map((t) => t.selected);

test('completion: text, usage and the tokens of logitlab generate', async () => {
  const r = await complete({ max_tokens: 12, seed: 5, temperature: 0.8, top_p: 0.9, trace: true, trace_top: 1 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].finish_reason, 'length');
  const { prompt_tokens_details: details, ...usage } = r.usage;
  assert.deepEqual(usage, { prompt_tokens: 4, completion_tokens: 12, total_tokens: 16 });
  assert.ok(details.cached_tokens >= 0 && details.cached_tokens < 4, JSON.stringify(details));
  const cli = cliGenerate(['--profile', 'openai', '--max-new-tokens', '12', '--seed', '5', '--temperature', '0.8', '--top-p', '0.9']);
  assert.deepEqual(ids(r.choices[0]), cli[0].tokens);
  assert.equal(r.choices[0].text, cli[0].text);
});

test('completion streamed: the same text, usage last, then [DONE]', async () => {
  const plain = await complete({ max_tokens: 10, seed: 9 });
  const stream = await complete({ max_tokens: 10, seed: 9, stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, plain.choices[0].text);
  assert.equal(finish, 'length');
  // (how much of the prompt the cache saved depends on what the slots held before)
  const counts = (u) => [u.prompt_tokens, u.completion_tokens, u.total_tokens];
  assert.deepEqual(counts(usage), counts(plain.usage));
});

test('chat: plain and streamed give the same message', async () => {
  const messages = [{ role: 'user', content: 'Who made the heaven and the earth?' }];
  const plain = await client.chat.completions.create({ model: 'logitlab', messages, max_tokens: 10, seed: 2 });
  assert.equal(plain.object, 'chat.completion');
  assert.equal(plain.choices[0].message.role, 'assistant');
  assert.ok(plain.usage.prompt_tokens > 4);
  const stream = await client.chat.completions.create({ model: 'logitlab', messages, max_tokens: 10, seed: 2, stream: true });
  let text = '', role = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      text += c.delta.content ?? '';
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, plain.choices[0].message.content);
});

test('n > 1: each choice its own sample, as logitlab generate -n', async () => {
  const r = await complete({ max_tokens: 6, n: 3, seed: 3, temperature: 0.9, trace: true, trace_top: 1 });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  assert.equal(r.usage.completion_tokens, 18);
  const cli = cliGenerate(['--profile', 'openai', '--max-new-tokens', '6', '-n', '3', '--seed', '3', '--temperature', '0.9']);
  assert.deepEqual(r.choices.map(ids), cli.map((x) => x.tokens));
});

test('logprobs: completions N and chat top_logprobs', async () => {
  const r = await complete({ max_tokens: 5, logprobs: 3 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.equal(lp.top_logprobs.length, 5);
  for (const t of lp.top_logprobs) assert.ok(Object.keys(t).length >= 1 && Object.keys(t).length <= 3);
  for (const x of lp.token_logprobs) assert.ok(x <= 0);
  assert.equal(lp.tokens.join(''), r.choices[0].text);
  const c = await client.chat.completions.create({
    model: 'logitlab', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, logprobs: true, top_logprobs: 2,
  });
  assert.equal(c.choices[0].logprobs.content.length, 4);
  for (const e of c.choices[0].logprobs.content) {
    assert.equal(e.top_logprobs.length, 2);
    assert.ok(Array.isArray(e.bytes));
  }
});

test('logit_bias: +100 forces a token, -100 bans one', async () => {
  const tok = await raw(main, '/tokenize', { body: { content: ' LORD' } });
  assert.equal(tok.status, 200);
  const forced = tok.json.tokens[tok.json.tokens.length - 1];
  const r = await complete({ max_tokens: 5, seed: 1, logit_bias: { [forced]: 100 }, trace: true, trace_top: 1 });
  assert.deepEqual(ids(r.choices[0]), [forced, forced, forced, forced, forced]);
  const greedy = await complete({ max_tokens: 1, temperature: 0, trace: true, trace_top: 1 });
  const first = ids(greedy.choices[0])[0];
  const banned = await complete({ max_tokens: 1, temperature: 0, logit_bias: { [first]: -100 }, trace: true, trace_top: 1 });
  assert.notEqual(ids(banned.choices[0])[0], first);
});

test('seed: the same seed the same text, another seed another text', async () => {
  const a = await complete({ max_tokens: 16, seed: 11, temperature: 1 });
  const b = await complete({ max_tokens: 16, seed: 11, temperature: 1 });
  const c = await complete({ max_tokens: 16, seed: 12, temperature: 1 });
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.notEqual(a.choices[0].text, c.choices[0].text);
  assert.equal(a.seed, 11);
  // no seed: a random one each time (as OpenAI, vLLM and llama.cpp's server), said in the answer
  const free = [];
  for (let i = 0; i < 4; i++) free.push(await complete({ max_tokens: 16, temperature: 1 }));
  const seeds = new Set(free.map((r) => r.seed));
  assert.equal(seeds.size, 4, [...seeds].join(','));
  assert.ok(new Set(free.map((r) => r.choices[0].text)).size > 1);
  // the seed an answer names repeats it
  const again = await complete({ max_tokens: 16, temperature: 1, seed: free[0].seed });
  assert.equal(again.choices[0].text, free[0].choices[0].text);
});

test('stop and max_tokens', async () => {
  const full = await complete({ max_tokens: 20, temperature: 0 });
  const text = full.choices[0].text;
  const words = text.trim().split(/\s+/);
  assert.ok(words.length >= 3, text);
  const stop = ' ' + words[2];
  const r = await complete({ max_tokens: 20, temperature: 0, stop: [stop, 'zzzz'] });
  assert.equal(r.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const m = await complete({ max_tokens: 7, temperature: 0 });
  assert.equal(m.usage.completion_tokens, 7);
  assert.equal(m.choices[0].finish_reason, 'length');
});

test('profile and trace: the stages logitlab inspect shows', async () => {
  const r = await complete({ max_tokens: 3, profile: 'llama.cpp', top_k: 40, temperature: 0.7, seed: 4, trace: true });
  const t = r.choices[0].trace;
  assert.equal(t.length, 3);
  assert.match(t[0].chain, /top_k\(k=40/);
  const inspect = JSON.parse(
    execFileSync(BIN, ['inspect', '-p', PROMPT, '--json', '--profile', 'llama.cpp', '--top-k', '40', '--temperature', '0.7', '--seed', '4'], {
      encoding: 'utf8',
    }),
  );
  assert.equal(t[0].chain, inspect.chain);
  assert.deepEqual(t[0].stages.map((s) => [s.stage, s.n_before, s.n_after]), inspect.stages.map((s) => [s.stage, s.n_before, s.n_after]));
  assert.deepEqual(t[0].stages.map((s) => s.top_after.map((x) => x.id)), inspect.stages.map((s) => s.top_after.map((x) => x.id)));
  assert.equal(t[0].selected, inspect.selected);
  const o = await complete({ max_tokens: 1, top_k: 40, temperature: 0.7, trace: true });
  assert.notEqual(o.choices[0].trace[0].chain, t[0].chain); // openai's order differs from llama.cpp's
});

test('errors: OpenAI shape, the field, the value and the range', async () => {
  let r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, top_p: 1.5 } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'top_p');
  assert.match(r.json.error.message, /1\.5.*\[0, 1\]/);
  assert.equal(r.json.error.type, 'invalid_request_error');
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, temperature: 3 } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /temperature.*3.*\[0, 2\]/);
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, max_tokens: 'ten' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'max_tokens');
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, n: 1e12 } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /n = .* valid is \[1, 64\]/);
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, frobnicate: 1 } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'frobnicate');
  r = await raw(main, '/v1/completions', { body: '{"prompt": "x",' });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /not valid JSON/);
  r = await raw(main, '/v1/completions', { body: { prompt: Array(300).fill(5) } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /300 tokens.*context holds 256/);
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT, model: 'gpt-4' } });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'model_not_found');
  await assert.rejects(complete({ model: 'gpt-4' }), (e) => e.status === 404);
  await assert.rejects(complete({ temperature: -1, profile: 'hf' }), (e) => e.status === 400 && e.param === 'temperature');
  r = await raw(main, '/v2/nothing', { method: 'GET' });
  assert.equal(r.status, 404);
  assert.ok(r.json.error);
  r = await raw(main, '/v1/completions', { method: 'GET' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST');
  r = await raw(main, '/v1/completions', { body: { prompt: PROMPT }, key: 'wrong' });
  assert.equal(r.status, 401);
  r = await raw(main, '/v1/models', { method: 'GET', key: null });
  assert.equal(r.status, 401);
  r = await raw(main, '/v1/completions', { body: JSON.stringify({ prompt: 'x'.repeat(2 << 20) }) });
  assert.equal(r.status, 413);
  // still serving
  r = await raw(main, '/health', { method: 'GET', key: null });
  assert.equal(r.status, 200);
});

test('models, tokenize, detokenize, metrics', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['logitlab']);
  const t = await raw(main, '/tokenize', { body: { content: PROMPT, add_special: true } });
  assert.deepEqual(t.json.tokens.length, 4); // BOS and 3 pieces
  const d = await raw(main, '/detokenize', { body: { tokens: t.json.tokens } });
  assert.equal(d.json.content, PROMPT);
  const m = await raw(main, '/metrics', { method: 'GET' });
  assert.equal(m.status, 200);
  assert.match(m.text, /^logitlab_requests_finished_total [1-9]/m);
  assert.match(m.text, /^logitlab_generated_tokens_total [1-9]/m);
  assert.match(m.text, /^logitlab_time_to_first_token_seconds_bucket\{le="\+Inf"\} [1-9]/m);
  assert.match(m.text, /^logitlab_queue_depth 0/m);
});

test('16 clients at once: each answer equal to the same request alone', async () => {
  const reqs = Array.from({ length: 16 }, (_, i) => ({
    prompt: ['In the beginning', 'And God said', 'The LORD is', 'Blessed are'][i % 4],
    max_tokens: 12 + (i % 5),
    seed: 100 + i,
    temperature: 0.9,
    n: 1 + (i % 3 === 0 ? 1 : 0),
    stream: i % 2 === 0,
  }));
  const run = async (q) => {
    if (!q.stream) return (await client.completions.create({ model: 'logitlab', ...q })).choices.map((c) => c.text);
    const texts = [];
    for await (const ch of await client.completions.create({ model: 'logitlab', ...q })) {
      for (const c of ch.choices) texts[c.index] = (texts[c.index] ?? '') + c.text;
    }
    return texts;
  };
  const alone = [];
  for (const q of reqs) alone.push(await run(q));
  const together = await Promise.all(reqs.map(run));
  assert.deepEqual(together, alone);
});

const LONG = 'And God said, Let there be light: and there was light. And God saw the light, that it was good';

test('prompt cache: a prompt that shares a prefix reuses it, and the answer is the uncached one', async () => {
  const first = await complete({ prompt: LONG, max_tokens: 6, seed: 4, temperature: 0.8 });
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const more = LONG + ': and God divided the light from the darkness';
  const second = await complete({ prompt: more, max_tokens: 8, seed: 4, temperature: 0.8, trace: true, trace_top: 1 });
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached >= 20 && cached <= second.usage.prompt_tokens - 9, `cached ${cached} of ${second.usage.prompt_tokens}`);
  const cli = execFileSync(BIN, ['generate', '-p', more, '--json', '--threads', '1', '--profile', 'openai',
    '--max-new-tokens', '8', '--seed', '4', '--temperature', '0.8'], { encoding: 'utf8' });
  assert.deepEqual(ids(second.choices[0]), JSON.parse(cli).results[0].tokens);
  const m = await raw(main, '/metrics', { method: 'GET' });
  assert.match(m.text, /^logitlab_prompt_tokens_cached_total [1-9]/m);
});

test('echo with logprobs: the prompt\'s tokens and log-probs come first', async () => {
  const plain = await complete({ prompt: LONG, max_tokens: 4, seed: 1, logprobs: 2 });
  const r = await complete({ prompt: LONG, max_tokens: 4, seed: 1, logprobs: 2, echo: true });
  const lp = r.choices[0].logprobs, n = r.usage.prompt_tokens;
  assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0); // the prompt's log-probs need every position
  assert.equal(lp.tokens.length, n + 4);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  for (let i = 1; i < n + 4; i++) {
    assert.ok(lp.token_logprobs[i] <= 0, `token ${i}: ${lp.token_logprobs[i]}`);
    const top = Object.values(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 2);
    // the best alternative is at least as likely as the token that came
    assert.ok(Math.max(...top) >= lp.token_logprobs[i] - 1e-6);
  }
  for (let i = 1; i < n + 4; i++) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1]);
  assert.ok(r.choices[0].text.startsWith(LONG));
  // the generated part is the answer without echo
  assert.deepEqual(lp.tokens.slice(n), plain.choices[0].logprobs.tokens);
  assert.deepEqual(lp.token_logprobs.slice(n), plain.choices[0].logprobs.token_logprobs);
  assert.equal(r.choices[0].text.slice(LONG.length), plain.choices[0].text);
});

test('continuous batching: 16 slots, long and short prompts, one step for all; each answer as alone', async () => {
  const wide = await startServer(['--parallel', '16']);
  try {
    const wc = new OpenAI({ baseURL: `${wide.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60000 });
    const prompts = [PROMPT, LONG, 'The LORD is my shepherd; I shall not want. He maketh me to lie down in green pastures', 'Amen'];
    const reqs = Array.from({ length: 16 }, (_, i) => ({
      prompt: prompts[i % 4], max_tokens: 10 + (i % 7), seed: 7 * i, temperature: 0.7 + 0.05 * (i % 4),
      top_k: 40, n: i % 5 === 0 ? 2 : 1, logprobs: i % 3 === 0 ? 2 : undefined,
    }));
    const run = async (q) => (await wc.completions.create({ model: 'logitlab', ...q })).choices.map((c) => [c.text, c.logprobs]);
    const alone = [];
    for (const q of reqs) alone.push(await run(q));
    const metric = async (name) => Number((await raw(wide, '/metrics', { method: 'GET' })).text.match(new RegExp(`^${name} (\\d+)`, 'm'))[1]);
    const steps0 = await metric('logitlab_steps_total'), rows0 = await metric('logitlab_step_rows_total');
    const together = await Promise.all(reqs.map(run));
    assert.deepEqual(together, alone);
    const steps = (await metric('logitlab_steps_total')) - steps0, rows = (await metric('logitlab_step_rows_total')) - rows0;
    // alone, a step holds one row (or one prompt); together, many rows share a step
    assert.ok(rows / steps > 2, `${rows} rows in ${steps} steps`);
  } finally {
    wide.proc.kill('SIGKILL');
  }
});

for (const kv of ['f16', 'q8_0']) {
  test(`--kv-type ${kv}: the slots keep ${kv} caches, an answer is the same alone and among others, and it is generate --kv-type ${kv}`, async () => {
    const srv = await startServer(['--parallel', '4', '--kv-type', kv]);
    try {
      assert.match(srv.stderr(), new RegExp(`${kv} cache`));
      const hc = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60000 });
      const reqs = Array.from({ length: 4 }, (_, i) => ({ prompt: i % 2 ? LONG : PROMPT, max_tokens: 12, seed: 11 * i + 1, temperature: 0 }));
      const run = async (q) => (await hc.completions.create({ model: 'logitlab', ...q })).choices[0].text;
      const alone = [];
      for (const q of reqs) alone.push(await run(q));
      assert.deepEqual(await Promise.all(reqs.map(run)), alone);
      // greedy through the server = greedy through generate with the same cache type
      const g = JSON.parse(execFileSync(BIN, ['generate', '-p', PROMPT, '--json', '--threads', '1', '--kv-type', kv, '--temperature', '0',
        '--max-new-tokens', '12', '--ignore-eos', '--quiet'], { encoding: 'utf8' }));
      const viaServer = (await hc.completions.create({ model: 'logitlab', prompt: PROMPT, max_tokens: 12, temperature: 0, ignore_eos: true })).choices[0].text;
      assert.equal(viaServer, g.results[0].text);
    } finally {
      srv.proc.kill('SIGKILL');
    }
  });
}

test('--kv-type: a bad type is a usage error naming the value', () => {
  let err;
  try {
    execFileSync(BIN, ['serve', '--port', '0', '--kv-type', 'f17'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    err = e;
  }
  assert.ok(err && err.status === 2, 'exit status 2');
  assert.match(String(err.stderr), /f17/);
});

test('a full queue is a 503, and the server keeps serving', async () => {
  const sc = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: 'none', maxRetries: 0 });
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => sc.completions.create({ model: 'logitlab', prompt: PROMPT, max_tokens: 200, seed: i, ignore_eos: true })),
  );
  const codes = results.map((x) => (x.status === 'fulfilled' ? 200 : x.reason.status));
  assert.ok(codes.includes(503), String(codes));
  assert.ok(codes.includes(200), String(codes));
  const ok = await sc.completions.create({ model: 'logitlab', prompt: PROMPT, max_tokens: 3 });
  assert.equal(ok.usage.completion_tokens, 3);
});

test('a client that goes away mid-stream frees its slot', async () => {
  const sc = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: 'none', maxRetries: 0 });
  const before = await raw(small, '/metrics', { method: 'GET', key: null });
  const cancelledBefore = Number(/^logitlab_requests_cancelled_total (\d+)/m.exec(before.text)[1]);
  const ac = new AbortController();
  const stream = await sc.completions.create(
    // 16 samples of 250 tokens: seconds of work, so the request is still running when the client leaves
    { model: 'logitlab', prompt: PROMPT, max_tokens: 250, n: 16, ignore_eos: true, stream: true },
    { signal: ac.signal },
  );
  let n = 0;
  try {
    for await (const _ of stream) if (++n === 2) ac.abort();
  } catch {}
  // the only slot is free again well before 250 tokens would have taken
  const t0 = Date.now();
  const next = await sc.completions.create({ model: 'logitlab', prompt: PROMPT, max_tokens: 2 });
  assert.equal(next.usage.completion_tokens, 2);
  assert.ok(Date.now() - t0 < 1500, `the next request took ${Date.now() - t0} ms`);
  let cancelled = cancelledBefore;
  for (let i = 0; i < 40 && cancelled === cancelledBefore; i++) {
    const m = await raw(small, '/metrics', { method: 'GET', key: null });
    cancelled = Number(/^logitlab_requests_cancelled_total (\d+)/m.exec(m.text)[1]);
    if (cancelled === cancelledBefore) await sleep(50);
  }
  assert.equal(cancelled, cancelledBefore + 1);
});

test('SIGTERM stops the server cleanly', async () => {
  const s = await startServer(['--parallel', '1']);
  const r = await raw(s, '/health', { method: 'GET', key: null });
  assert.equal(r.status, 200);
  s.proc.kill('SIGTERM');
  const { code } = await Promise.race([s.exited, sleep(5000).then(() => ({ code: 'timeout' }))]);
  assert.equal(code, 0, s.stderr());
});
