// robust.test.mjs - `logitlab serve` against hostile and heavy traffic, with
// plain node:http (no npm package needed):
//  - 1,000+ malformed requests (bad and truncated JSON, a wrong type for
//    every field, huge numbers, 1e400, n = -1 and 1e9, depth bombs, invalid
//    UTF-8, duplicate keys, empty bodies, wrong content types, huge prompt
//    arrays, token ids out of range, bodies over the limit, unknown
//    endpoints, wrong methods, missing keys): each answered with its 4xx in
//    OpenAI's error shape, and afterwards the server gives the same text as
//    before for the same request;
//  - a bounded load run: 8 clients x a fixed number of mixed requests, a
//    warm-up round and a second identical round: no failed request, and the
//    server's RSS (VmRSS) after the second round within a small bound of
//    what it was after the first.
//
//   node --test tests/serve/robust.test.mjs   (LOGITLAB=path/to/logitlab)
// ctest runs it as test_serve_robust.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = process.env.LOGITLAB || 'build/logitlab';
const KEY = 'robust-key';
const BODY_LIMIT = 65536;
const N_VOCAB = 4096; // the embedded model's vocabulary

let srv;
let agent;
// A sanitizer build (LOGITLAB_SANITIZE) is ~20x slower, and ASan's
// quarantine holds freed memory back on purpose (RSS grows until it is
// full): there the server runs without quarantine (LeakSanitizer still
// checks at exit) and the load rounds are shorter.
const ASAN = readFileSync(BIN).includes('__asan_init');

async function startServer(args) {
  const dir = mkdtempSync(join(tmpdir(), 'logitlab-robust-'));
  const portFile = join(dir, 'port');
  const env = { ...process.env };
  if (ASAN) env.ASAN_OPTIONS = [env.ASAN_OPTIONS, 'quarantine_size_mb=0'].filter(Boolean).join(':');
  const proc = spawn(BIN, ['serve', '--port', '0', '--port-file', portFile, '--threads', '1', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
  for (let i = 0; i < 400 && !existsSync(portFile); i++) await sleep(25);
  assert.ok(existsSync(portFile), `the server did not start: ${stderr}`);
  const port = Number(readFileSync(portFile, 'utf8').trim());
  return { proc, port, exited, stderr: () => stderr };
}

before(async () => {
  srv = await startServer(['--parallel', '2', '--api-key', KEY, '--body-limit', String(BODY_LIMIT)]);
  agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
});

after(async () => {
  agent?.destroy();
  if (srv && srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
});

// One request; body is a string, a Buffer or undefined. Resolves with the
// status, headers and text; never rejects on an HTTP status.
function send({ method = 'POST', path = '/v1/completions', headers = {}, body, key = KEY, chunked = false }) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (!('content-type' in h) && body !== undefined) h['content-type'] = 'application/json';
    if (key) h.authorization = `Bearer ${key}`;
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (buf && !chunked) h['content-length'] = buf.length;
    const req = http.request({ host: '127.0.0.1', port: srv.port, method, path, headers: h, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    if (buf) req.write(buf);
    req.end();
  });
}

// The error shape OpenAI clients read: {"error": {"message", "type", "param", "code"}}.
function checkError(r, status, what, mentions) {
  assert.equal(r.status, status, `${what}: status ${r.status}, body ${r.text.slice(0, 300)}`);
  assert.match(r.headers['content-type'] || '', /^application\/json/, `${what}: content-type`);
  let j;
  assert.doesNotThrow(() => (j = JSON.parse(r.text)), `${what}: the body is not JSON: ${r.text.slice(0, 200)}`);
  assert.deepEqual(Object.keys(j), ['error'], `${what}: ${r.text.slice(0, 200)}`);
  const e = j.error;
  assert.equal(typeof e.message, 'string', what);
  assert.ok(e.message.length > 0, what);
  assert.equal(typeof e.type, 'string', what);
  assert.ok('param' in e && (e.param === null || typeof e.param === 'string'), `${what}: param`);
  assert.ok('code' in e && (e.code === null || typeof e.code === 'string'), `${what}: code`);
  // an integer beyond 64 bits (JSON.stringify(9.3e18) has no exponent) is
  // refused by the JSON reader itself, before any field is looked at
  if (mentions && !/too big (negative )?integer/.test(e.message)) assert.ok(e.message.includes(mentions), `${what}: the message does not name ${mentions}: ${e.message}`);
}

// ---- the malformed requests ----

const PROMPT = 'In the beginning';
const GOOD = { prompt: PROMPT, max_tokens: 12, temperature: 0 };
const GOOD_SAMPLED = { prompt: PROMPT, max_tokens: 12, temperature: 1, seed: 7 };
const GOOD_CHAT = { messages: [{ role: 'user', content: 'Who made the heaven?' }], max_tokens: 8, temperature: 0 };

// Wrong values per field: types it does not take, and values out of range.
const T = { str: 'x', bool: true, obj: { a: 1 }, arr: [1, 2], neg: -1 };
const wrongInt = [T.str, T.bool, T.obj, T.arr, 1.5, 1e30, -1e30, '12', 9.3e18, -9.3e18];
const wrongNum = [T.str, T.bool, T.obj, T.arr, '0.5', [0.5]];
const wrongBool = [T.str, 1, 0, T.obj, T.arr, 'true'];
const completionFields = {
  model: [1, T.bool, T.obj, T.arr, 'no-such-model'],
  prompt: [1, T.bool, T.obj, [], [-1], [N_VOCAB], [1.5], ['a', 'b'], [[1], [2]], [T.obj], [1e30], [true]],
  max_tokens: [...wrongInt, 0, -1, 1e9, 2 ** 31],
  max_completion_tokens: [...wrongInt, 0, -5],
  temperature: [...wrongNum, -1, 1e39, -1e39, 1e-320],
  top_p: [...wrongNum, -0.5, 1.5, 1e39],
  n: [...wrongInt, 0, -1, 1e9, 65, 2 ** 53],
  stop: [1, T.bool, T.obj, [1], [''], [T.obj], Array(17).fill('x'), 'x'.repeat(1025)],
  seed: [...wrongInt.filter((v) => v !== -1e30 && v !== 1.5), 2 ** 32, -2],
  logit_bias: [1, 'x', T.bool, { x: 1 }, { '-1': 1 }, { [N_VOCAB]: 1 }, { 5: 'a' }, { 5: 1e300 }, { 5: 101 }, { '+5': 1 },
    { ' 5': 1 }, { 5.5: 1 }, [[5]], [[5, 1, 2]], [['a', 1]], [1]],
  frequency_penalty: [...wrongNum, -3, 3],
  presence_penalty: [...wrongNum, -2.5, 2.5],
  logprobs: [...wrongInt.filter((v) => v !== -1e30), 21, -1, 1e9],
  echo: wrongBool,
  stream: wrongBool,
  stream_options: [1, 'x', T.bool, T.arr, { include_usage: 1 }, { other: true }],
  user: [1, T.bool, T.obj, T.arr],
  top_k: [T.str, T.bool, T.obj, T.arr, 1.5, 1e30],
  // min_p <= 0, typical_p >= 1, xtc_probability <= 0, dynatemp_range <= 0
  // are the profiles' 'off' values (llama.cpp's), not errors
  min_p: wrongNum,
  typical_p: wrongNum,
  repetition_penalty: [...wrongNum, -1, 0],
  repeat_penalty: [...wrongNum, -1],
  repeat_last_n: [T.str, T.bool, T.obj, T.arr, 1.5, 1e30],
  min_tokens: [T.str, T.bool, T.obj, T.arr, 1.5, -1, 1e30],
  ignore_eos: wrongBool,
  stop_token_ids: [1, 'x', T.bool, T.obj, [-1], [N_VOCAB], ['a'], [1.5]],
  mirostat: [T.str, T.bool, T.obj, T.arr, 3, -1, 1.5],
  mirostat_tau: wrongNum,
  mirostat_eta: wrongNum,
  dry_multiplier: [...wrongNum, -1],
  dry_base: wrongNum,
  dry_allowed_length: [T.str, T.bool, T.obj, T.arr, -1, 1.5],
  dry_penalty_last_n: [T.str, T.bool, T.obj, T.arr, 1.5],
  dry_sequence_breakers: [1, 'x', T.bool, T.obj, [1], [''], [T.obj]],
  xtc_probability: [...wrongNum, 1.5],
  xtc_threshold: [...wrongNum, -0.5],
  top_n_sigma: wrongNum,
  dynatemp_range: wrongNum,
  dynatemp_exponent: wrongNum,
  samplers: [1, T.bool, T.obj, [], '', [1], ['no_such_stage'], 'no_such_stage'],
  n_probs: [...wrongInt.filter((v) => v !== -1e30), 21, -1],
  profile: [1, T.bool, T.obj, T.arr, 'no-such-profile'],
  trace: wrongBool,
  trace_top: [T.str, T.bool, T.obj, T.arr, 0, 1e9],
  no_such_field: [1, 'x', T.obj],
};

// The bodies, statuses and (where sure) the word the message must name.
function malformedCases() {
  const cases = [];
  const add = (c) => cases.push({ status: 400, ...c });
  // every field with every wrong value, on completions
  for (const [field, values] of Object.entries(completionFields))
    for (const v of values)
      add({
        what: `completions ${field} = ${JSON.stringify(v).slice(0, 40)}`,
        body: JSON.stringify({ ...GOOD, [field]: v }),
        status: field === 'model' && v === 'no-such-model' ? 404 : 400,
        mentions: field === 'no_such_field' ? 'no_such_field' : field,
      });
  // the same on chat, for the fields both endpoints share
  for (const [field, values] of Object.entries(completionFields)) {
    if (['prompt', 'echo', 'logprobs', 'model'].includes(field)) continue;
    for (const v of values)
      add({ what: `chat ${field} = ${JSON.stringify(v).slice(0, 40)}`, path: '/v1/chat/completions',
        body: JSON.stringify({ ...GOOD_CHAT, [field]: v }), mentions: field });
  }
  // one parameter under two names (llama.cpp's and vLLM's): not the later silently
  for (const [a, b, v] of [['repeat_penalty', 'repetition_penalty', 1.1], ['repeat_last_n', 'penalty_last_n', 8],
    ['min_tokens', 'min_new_tokens', 2], ['mirostat_ent', 'mirostat_tau', 5], ['mirostat_lr', 'mirostat_eta', 0.1],
    ['dynatemp_exp', 'dynatemp_exponent', 1]])
    for (const [x, y] of [[a, b], [b, a]])
      add({ what: `${x} and ${y}`, body: JSON.stringify({ ...GOOD, [x]: v, [y]: v }), mentions: `${x} and ${y}` });
  // chat: messages and the chat-only fields
  const badMessages = [1, 'x', T.bool, T.obj, [], [1], ['x'], [{}], [{ role: 'user' }], [{ content: 'x' }],
    [{ role: 1, content: 'x' }], [{ role: 'user', content: 1 }], [{ role: 'user', content: [{ type: 'image_url' }] }],
    [{ role: 'user', content: [{ type: 'text', text: 1 }] }], [{ role: 'alien', content: 'x' }],
    [{ role: 'user', content: 'x', extra: 1 }], [{ role: 'user', content: T.obj }]];
  for (const v of badMessages)
    add({ what: `chat messages = ${JSON.stringify(v)}`, path: '/v1/chat/completions',
      body: JSON.stringify({ ...GOOD_CHAT, messages: v }), mentions: 'messages' });
  for (const [field, values] of Object.entries({ logprobs: wrongBool, top_logprobs: [...wrongInt, 21, -1, 1e9],
    max_completion_tokens: [0, -1, 'x'], n: [0, 1e9, -1], echo: [true], prompt: ['x'] }))
    for (const v of values)
      add({ what: `chat ${field} = ${JSON.stringify(v)}`, path: '/v1/chat/completions',
        body: JSON.stringify({ ...GOOD_CHAT, logprobs: field === 'top_logprobs' ? true : undefined, [field]: v }),
        mentions: field });
  add({ what: 'chat top_logprobs without logprobs', path: '/v1/chat/completions',
    body: JSON.stringify({ ...GOOD_CHAT, top_logprobs: 2 }), mentions: 'top_logprobs' });
  // every truncation of three valid bodies (none is valid JSON)
  for (const [path, obj] of [['/v1/completions', { ...GOOD, stop: ['\n', 'x'], logit_bias: { 5: 1 }, seed: 3 }],
    ['/v1/chat/completions', GOOD_CHAT], ['/tokenize', { content: PROMPT }]]) {
    const s = JSON.stringify(obj);
    for (let n = 0; n < s.length; n++) add({ what: `${path} truncated at ${n}`, path, body: s.slice(0, n) });
  }
  // bad JSON of other kinds
  const badJson = ['{', '}', '{"prompt": }', '{"prompt" "x"}', "{'prompt': 'x'}", '{"prompt": "x",}', '[1,]',
    '{"prompt": "x"} trailing', '{"prompt": "x"}{}', 'nul', 'tru', '{"prompt": NaN}', '{"prompt": "x", "temperature": Infinity}',
    '{"prompt": "x", "temperature": -Infinity}', '{"prompt": "x", "temperature": 1e400}', '{"prompt": "x", "temperature": -1e400}',
    '{"prompt": "x", "seed": 99999999999999999999}', '{"prompt": "x", "seed": -99999999999999999999}',
    '{"prompt": "x", "n": 1e400}', '{"prompt": "x", "max_tokens": 0x10}', '{"prompt": "x", "max_tokens": 01}',
    '{"prompt": "x", "max_tokens": +1}', '{"prompt": "x", "max_tokens": .5}', '{"prompt": "\\x"}', '{"prompt": "\\u12"}',
    '{"prompt": "\\ud800"}', '{"prompt": "\\udc00x"}', '{"prompt": "a\\u0000b"}', '{"prompt": "line\nbreak"}',
    '{"prompt": "tab\there"}', '/* c */ {"prompt": "x"}', '\ufeff{"prompt": "x"}'];
  for (const b of badJson) add({ what: `bad JSON ${JSON.stringify(b)}`, body: b });
  // not an object
  for (const b of ['', ' ', '\n', 'null', 'true', '1', '"x"', '[]', '[{"prompt": "x"}]'])
    for (const path of ['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize'])
      add({ what: `${path} body ${JSON.stringify(b)}`, path, body: b });
  // depth bombs, at the top and inside a field
  // (a bomb over the body limit is a 413 before it is parsed)
  for (const d of [3000, 6000, 20000, 200000])
    for (const [what, body] of [['array', '['.repeat(d) + ']'.repeat(d)], ['object', '{"a":'.repeat(d) + '1' + '}'.repeat(d)],
      ['prompt', `{"prompt":${'['.repeat(d)}${']'.repeat(d)}}`], ['unclosed', '['.repeat(d)], ['messages', `{"messages":[${'{"a":'.repeat(d)}}]}`]])
      add({ what: `${what} depth ${d}`, body, status: body.length > BODY_LIMIT ? 413 : 400 });
  // invalid UTF-8 in strings: in values, in keys, in nested fields
  const badUtf8 = [[0xff], [0xfe], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xbf], [0xf0, 0x9f, 0x98]];
  for (const bytes of badUtf8) {
    const bad = Buffer.from(bytes);
    const mk = (pre, post) => Buffer.concat([Buffer.from(pre), bad, Buffer.from(post)]);
    add({ what: `invalid UTF-8 ${bytes} in prompt`, body: mk('{"prompt": "a', 'b"}') });
    add({ what: `invalid UTF-8 ${bytes} in stop`, body: mk('{"prompt": "a", "stop": ["', '"]}') });
    add({ what: `invalid UTF-8 ${bytes} in a key`, body: mk('{"prompt": "a", "', '": 1}') });
    add({ what: `invalid UTF-8 ${bytes} in model`, body: mk('{"prompt": "a", "model": "', '"}') });
    add({ what: `invalid UTF-8 ${bytes} in chat content`, path: '/v1/chat/completions',
      body: mk('{"messages": [{"role": "user", "content": "', '"}]}') });
    add({ what: `invalid UTF-8 ${bytes} in tokenize`, path: '/tokenize', body: mk('{"content": "', '"}') });
  }
  // duplicate keys, at the top and nested
  for (const b of ['{"prompt": "a", "prompt": "a"}', '{"prompt": "a", "n": 1, "n": 2}', '{"prompt": "a", "logit_bias": {"5": 1, "5": 2}}',
    '{"prompt": "a", "stream_options": {"include_usage": true, "include_usage": true}, "stream": true}'])
    add({ what: `duplicate keys ${b}`, body: b });
  add({ what: 'duplicate keys in a message', path: '/v1/chat/completions',
    body: '{"messages": [{"role": "user", "role": "user", "content": "x"}]}' });
  // huge prompts: more ids than the context holds (but under the body limit), long text
  for (const n of [300, 1000, 10000]) {
    add({ what: `prompt of ${n} ids`, body: JSON.stringify({ prompt: Array(n).fill(5) }), mentions: 'context' });
    add({ what: `prompt of ${n} ids, the last out of range`, body: JSON.stringify({ prompt: [...Array(n - 1).fill(5), N_VOCAB] }),
      mentions: 'prompt' });
  }
  for (const id of [-1, N_VOCAB, N_VOCAB + 1, 2 ** 31, -(2 ** 31), 2 ** 53, 1e300])
    add({ what: `prompt id ${id}`, body: JSON.stringify({ prompt: [1, id] }), mentions: 'prompt' });
  add({ what: 'a 20,000-character prompt', body: JSON.stringify({ prompt: 'In the beginning '.repeat(1200) }), mentions: 'context' });
  // /tokenize and /detokenize
  for (const v of [1, T.bool, T.obj, T.arr]) add({ what: `tokenize content ${JSON.stringify(v)}`, path: '/tokenize',
    body: JSON.stringify({ content: v }), mentions: 'content' });
  add({ what: 'tokenize without content', path: '/tokenize', body: '{}' });
  add({ what: 'tokenize unknown field', path: '/tokenize', body: '{"content": "x", "other": 1}', mentions: 'other' });
  for (const v of [1, 'x', T.obj, [-1], [N_VOCAB], ['a'], [1.5], [[1]], [1e300]])
    add({ what: `detokenize tokens ${JSON.stringify(v)}`, path: '/detokenize', body: JSON.stringify({ tokens: v }),
      mentions: 'tokens' });
  // wrong content types (curl's default for -d, form-urlencoded, is read as JSON: the README's curl lines send it)
  for (const ct of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'image/png', 'application/jsonx', 'json', ''])
    for (const path of ['/v1/completions', '/v1/chat/completions', '/tokenize'])
      cases.push({ what: `content-type ${JSON.stringify(ct)} on ${path}`, path, status: 415,
        headers: { 'content-type': ct }, body: JSON.stringify(path === '/tokenize' ? { content: 'x' } : GOOD), mentions: 'Content-Type' });
  // bodies over the limit, sent whole (read and dropped, then a clean 413), with a length and chunked;
  // see oversized() for the ones answered before the body is sent
  for (const n of [BODY_LIMIT + 1, 4 * BODY_LIMIT])
    for (const path of ['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize'])
      for (const chunked of [false, true])
        cases.push({ what: `${chunked ? 'chunked ' : ''}body of ${n} bytes on ${path}`, path, status: 413, chunked,
          body: `{"prompt": "${'a'.repeat(n)}"}`, mentions: 'limit' });
  // unknown endpoints
  // ('/' is the playground; a %00 stays escaped, so '/%00' and '/health%00' are no route, not '/' and '/health')
  for (const path of ['/v1', '/v1/', '/v2/completions', '/v1/completions/', '/v1/completion', '/V1/COMPLETIONS', '/v1/embeddings',
    '/v1/models/logitlab', '/../etc/passwd', '/%00', '/health%00', '/v1/models%00x', '/health/', '/metrics/x',
    '/' + 'a'.repeat(2000), '/nothing.js'])
    for (const method of ['GET', 'POST'])
      cases.push({ what: `${method} ${path.slice(0, 40)}`, method, path, status: 404, body: method === 'POST' ? '{}' : undefined });
  // wrong methods
  for (const path of ['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize', '/completions', '/chat/completions'])
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
      cases.push({ what: `${method} ${path}`, method, path, status: 405, mentions: method });
  for (const path of ['/v1/models', '/models', '/metrics', '/health', '/'])
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'])
      cases.push({ what: `${method} ${path}`, method, path, status: 405, body: '{}', mentions: method });
  // the API key
  for (const [what, headers, key] of [['no key', {}, null], ['a wrong key', {}, 'wrong'], ['a longer key', {}, KEY + 'x'],
    ['a prefix of the key', {}, KEY.slice(0, 3)], ['Basic auth', { authorization: 'Basic abc' }, null],
    ['an empty bearer', { authorization: 'Bearer ' }, null]])
    for (const path of ['/v1/completions', '/v1/models', '/metrics', '/tokenize'])
      cases.push({ what: `${what} on ${path}`, path, method: path.includes('model') || path === '/metrics' ? 'GET' : 'POST',
        status: 401, headers, key, body: path.includes('model') || path === '/metrics' ? undefined : JSON.stringify(GOOD) });
  return cases;
}

// A body over the limit that is declared by Content-Length, from a client
// that waits for "100 Continue" or that declares more than the server
// would read and drop (16 MiB past the limit): the 413 comes at once,
// before the client sends the body (here: only 10 bytes of it).
function oversized(path, declared, expect) {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    const parts = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to a declared ${declared}-byte body within 5 s`));
    }, 5000);
    s.on('connect', () =>
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${declared}\r\n${expect ? 'Expect: 100-continue\r\n' : ''}\r\n{"prompt":`));
    s.on('data', (d) => parts.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString();
      const [head, body = ''] = text.split('\r\n\r\n');
      const status = Number((head.match(/^HTTP\/1\.1 (\d+)/) || [])[1]);
      const ct = (head.match(/content-type: *([^\r\n]*)/i) || [])[1];
      resolve({ status, headers: { 'content-type': ct }, text: body, head });
    });
  });
}

async function generateText(body, path = '/v1/completions') {
  const r = await send({ path, body: JSON.stringify(body) });
  assert.equal(r.status, 200, r.text);
  const c = JSON.parse(r.text).choices[0];
  return path.includes('chat') ? c.message.content : c.text;
}

test('1,000 malformed requests: each its 4xx in OpenAI shape, and the server answers as before', async () => {
  const before = [await generateText(GOOD), await generateText(GOOD_SAMPLED), await generateText(GOOD_CHAT, '/v1/chat/completions')];
  const cases = malformedCases();
  let done = 0;
  const wrong = [];
  // 8 at a time, like clients would; every wrong answer is listed, not just the first
  for (let i = 0; i < cases.length; i += 8) {
    const batch = cases.slice(i, i + 8);
    const answers = await Promise.all(batch.map((c) => send(c)));
    batch.forEach((c, k) => {
      try {
        checkError(answers[k], c.status, c.what, c.mentions);
      } catch (e) {
        wrong.push(e.message.split('\n')[0]);
      }
    });
    done += batch.length;
  }
  assert.deepEqual(wrong, []);
  for (const path of ['/v1/completions', '/v1/chat/completions', '/tokenize', '/detokenize'])
    for (const [declared, expect] of [[BODY_LIMIT + 1, true], [1e9, true], [1e9, false], [2 ** 62, false]]) {
      const r = await oversized(path, declared, expect);
      checkError(r, 413, `declared ${declared} bytes on ${path}${expect ? ' (Expect: 100-continue)' : ''}`, 'limit');
      assert.match(r.head, /connection: close/i, 'the connection closes instead of reading the rest');
      done++;
    }
  // a chunked body that goes on past what the server drops (16 MiB past the limit): cut off
  await assert.rejects(send({ body: Buffer.alloc(BODY_LIMIT + (17 << 20), 0x61), chunked: true }), /EPIPE|ECONNRESET|socket hang up/);
  done++;
  console.log(`# ${done} malformed requests, each answered with its 4xx`);
  assert.ok(done >= 1000, `only ${done} cases`);
  const afterwards = [await generateText(GOOD), await generateText(GOOD_SAMPLED), await generateText(GOOD_CHAT, '/v1/chat/completions')];
  assert.deepEqual(afterwards, before);
  // and the answers were counted: no 5xx at all
  const m = await send({ method: 'GET', path: '/metrics' });
  for (const line of m.text.split('\n').filter((l) => l.startsWith('logitlab_http_responses_total') && l.includes('5xx')))
    assert.match(line, / 0$/, line);
  assert.equal(srv.proc.exitCode, null, `the server died: ${srv.stderr()}`);
});

// ---- the load run ----

function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

// One client's mix of requests; returns the number that failed (an
// unexpected status, a broken stream, a network error).
const mix = [
  { body: { prompt: PROMPT, max_tokens: 8, temperature: 0.8, seed: 1 }, status: 200 },
  { body: { prompt: PROMPT, max_tokens: 8, stream: true, stream_options: { include_usage: true } }, status: 200, stream: true },
  { path: '/v1/chat/completions', body: { ...GOOD_CHAT, max_tokens: 6, logprobs: true, top_logprobs: 2 }, status: 200 },
  { path: '/tokenize', body: { content: PROMPT }, status: 200 },
  { path: '/detokenize', body: { tokens: [1, 2, 3] }, status: 200 },
  { body: { prompt: PROMPT, temperature: -1 }, status: 400 },
  { body: '{"prompt": ', status: 400 },
  { method: 'GET', path: '/health', status: 200 },
  { method: 'GET', path: '/metrics', status: 200 },
  { body: { prompt: PROMPT, max_tokens: 4, n: 2, trace: true }, status: 200 },
];

async function client(id, count, failures) {
  for (let i = 0; i < count; i++) {
    const m = mix[(id + i) % mix.length];
    try {
      const r = await send({ method: m.method, path: m.path, body: m.body === undefined ? undefined
        : typeof m.body === 'string' ? m.body : JSON.stringify(m.body) });
      const ok = r.status === m.status && (!m.stream || r.text.trimEnd().endsWith('data: [DONE]'));
      if (!ok) failures.push(`${m.path || '/v1/completions'}: ${r.status} ${r.text.slice(0, 200)}`);
    } catch (e) {
      failures.push(`${m.path || '/v1/completions'}: ${e.message}`);
    }
  }
}

async function round(clients, perClient) {
  const failures = [];
  const t0 = Date.now();
  await Promise.all(Array.from({ length: clients }, (_, id) => client(id, perClient, failures)));
  return { failures, seconds: (Date.now() - t0) / 1000, requests: clients * perClient };
}

test('load: 8 clients, two identical rounds, no failures, RSS flat', async () => {
  const CLIENTS = 8, PER_CLIENT = Number(process.env.LOGITLAB_LOAD_PER_CLIENT || (ASAN ? 30 : 150));
  // RSS may rise while allocator arenas and thread stacks reach their
  // working size (the warm-up); after that an identical round must not add
  // more than this (release: 2 MiB over 1,200 requests; ASan's allocator
  // caches more per thread, so 8 MiB over 240 there)
  const SLACK_KIB = Number(process.env.LOGITLAB_RSS_SLACK_KIB || (ASAN ? 8192 : 2048));
  const warm = await round(CLIENTS, PER_CLIENT);
  const rss1 = rssKiB(srv.proc.pid);
  const second = await round(CLIENTS, PER_CLIENT);
  const rss2 = rssKiB(srv.proc.pid);
  console.log(`# warm-up: ${warm.requests} requests in ${warm.seconds.toFixed(1)} s, ${warm.failures.length} failed; RSS ${rss1} KiB`);
  console.log(`# second:  ${second.requests} requests in ${second.seconds.toFixed(1)} s, ${second.failures.length} failed; RSS ${rss2} KiB (${rss2 - rss1 >= 0 ? '+' : ''}${rss2 - rss1} KiB)`);
  assert.deepEqual(warm.failures, []);
  assert.deepEqual(second.failures, []);
  assert.ok(rss2 - rss1 <= SLACK_KIB, `RSS grew by ${rss2 - rss1} KiB in an identical round (bound ${SLACK_KIB} KiB)`);
});

test('SIGTERM after all that: a clean exit (under ASan: no leak report)', async () => {
  srv.proc.kill('SIGTERM');
  const { code, sig } = await Promise.race([srv.exited, sleep(10000).then(() => ({ code: 'timeout' }))]);
  assert.equal(code, 0, `exit ${code} ${sig}: ${srv.stderr().slice(-2000)}`);
});

test('--port-file that cannot be written: a clear error and exit 1, not a server no script can find', () => {
  const r = spawnSync(BIN, ['serve', '--port', '0', '--port-file', '/nonexistent-dir/port', '--threads', '1'],
    { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  assert.match(r.stderr, /cannot write the port to --port-file .*nonexistent-dir\/port/);
});
