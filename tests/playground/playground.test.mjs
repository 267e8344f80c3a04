// playground.test.mjs - the browser playground of `logitlab serve` (issue
// 12) in a real browser: Debian's chromium, headless, driven by
// puppeteer-core (installed in tests/serve, no browser download). It types
// a prompt and checks the bars against `logitlab inspect --json`, moves
// top_p with the keyboard and checks the after-stage bars, steps three
// tokens with one forced and undoes one, streams a generation (checked
// against `logitlab generate`), opens a lesson and finds its source in the
// tree, loads a shared link and gets the same view, and shows a server
// error next to its control. Screenshots (desktop and 360 px) go to
// $LOGITLAB_ARTIFACTS.
//
//   LOGITLAB=build/logitlab node --test tests/playground/playground.test.mjs
// ctest runs it as test_playground; scripts/test.sh installs chromium and
// runs `npm ci` in tests/serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const here = new URL('.', import.meta.url).pathname;
const root = resolve(here, '..', '..');
const npmDir = join(here, '..', 'serve');
if (!existsSync(join(npmDir, 'node_modules', 'puppeteer-core'))) {
  throw new Error(`puppeteer-core is missing: run 'npm ci' in ${npmDir} (scripts/test.sh does)`);
}
const { default: puppeteer } = await import(createRequire(join(npmDir, 'package.json')).resolve('puppeteer-core'));

const BIN = resolve(process.env.LOGITLAB || 'build/logitlab');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.LOGITLAB_ARTIFACTS || join(tmpdir(), 'logitlab-playground'));
mkdirSync(ARTIFACTS, { recursive: true });
const PROMPT = 'And God said';
const PROFILE = 'llama.cpp';
const TOP = 10;
const WAIT = { timeout: 60000 };

let server, browser, page, stderr = '';

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logitlab-playground-'));
  const portFile = join(dir, 'port');
  server = spawn(BIN, ['serve', '--port', '0', '--port-file', portFile, '--threads', '1', '--parallel', '2'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr.on('data', (d) => (stderr += d));
  for (let i = 0; i < 400 && !existsSync(portFile) && server.exitCode === null; i++) await sleep(25);
  if (!existsSync(portFile)) throw new Error(`logitlab serve did not start: ${stderr}`);
  server.url = `http://127.0.0.1:${Number(readFileSync(portFile, 'utf8').trim())}`;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => assert.fail(`the page threw: ${e.message}`));
  await page.setViewport({ width: 1280, height: 900 });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) server.kill('SIGKILL');
});

// Waits until the page has drawn the answer to its last change.
const settled = (p = page) => p.waitForFunction(() => document.body.dataset.state === 'ready', WAIT);

async function open(p, query) {
  await p.goto(`${server.url}/${query}`);
  await settled(p);
}

// What the page shows for side A: the chain, the stage in focus, its bars.
const view = (p = page) =>
  p.evaluate(() => {
    const side = document.querySelector('#sides .side[data-side=A]');
    const list = (cls) => [...side.querySelectorAll(`.${cls} .bar[data-id]`)].map((b) => ({ id: Number(b.dataset.id), p: Number(b.dataset.p) }));
    return {
      chain: [...side.querySelectorAll('.stage')].map((b) => b.title),
      focus: side.querySelector('.stage[aria-pressed=true]').title,
      before: list('before'),
      after: list('after'),
      stats: side.querySelector('.stats').textContent,
      rest: Number(side.querySelector('.after .rest').dataset.rest),
    };
  });

const inspect = (args) =>
  JSON.parse(execFileSync(BIN, ['inspect', '-p', PROMPT, '--json', '--top', String(TOP), '--profile', PROFILE, '--threads', '1', ...args], { encoding: 'utf8' }));

function sameBars(shown, want, what) {
  assert.deepEqual(shown.map((t) => t.id), want.map((t) => t.id), `${what}: the token ids`);
  shown.forEach((t, i) => assert.ok(Math.abs(t.p - want[i].p) <= 1e-6, `${what}: bar ${i} p ${t.p} vs ${want[i].p}`));
}

function sameStage(v, st, what) {
  sameBars(v.before, st.top_before, `${what}, before`);
  sameBars(v.after, st.top_after, `${what}, after`);
  assert.match(v.stats, new RegExp(`candidates ${st.n_before} → ${st.n_after} `), `${what}: the candidate counts`);
  assert.match(v.stats, new RegExp(`entropy ${st.entropy_before.toFixed(3)} → ${st.entropy_after.toFixed(3)} `), `${what}: the entropy`);
  const sum = st.top_after.reduce((a, t) => a + t.p, 0);
  assert.ok(Math.abs(v.rest - Math.max(0, 1 - sum)) <= 1e-6, `${what}: the rest bar`);
}

let shared; // the link and the view of the top_p test

test('the page, its files and its metadata are served', async () => {
  for (const [path, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/style.css', 'text/css'], ['/playground.json', 'application/json']]) {
    const r = await fetch(server.url + path);
    assert.equal(r.status, 200, path);
    assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    assert.equal(r.headers.get('cache-control'), 'no-cache', path);
    const again = await fetch(server.url + path, { headers: { 'if-none-match': r.headers.get('etag') } });
    assert.equal(again.status, 304, `${path} with its ETag`);
  }
  assert.equal((await fetch(server.url + '/missing.js')).status, 404);
  const post = await fetch(server.url + '/', { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  // the metadata is the tables: the profile's default order as `logitlab inspect` runs it
  const meta = await (await fetch(server.url + '/playground.json')).json();
  const order = meta.profiles.find((p) => p.name === PROFILE).order;
  const names = inspect([]).stages.map((s) => s.stage.replace(/^\?/, '').replace(/\(.*$/, ''));
  assert.deepEqual(names.filter((n) => order.includes(n)), order);
});

test('typing a prompt draws the bars of logitlab inspect', async () => {
  await open(page, `?profile=${encodeURIComponent(PROFILE)}`);
  await page.click('#prompt', { clickCount: 3 });
  await page.keyboard.press('Backspace');
  await page.type('#prompt', PROMPT);
  await settled();
  const v = await view();
  const want = inspect([]);
  assert.deepEqual(v.chain, want.stages.map((s) => s.stage), 'the chain');
  // the stage in focus: the last before the selecting one
  const st = want.stages[want.stages.length - 2];
  assert.equal(v.focus, st.stage);
  sameStage(v, st, st.stage);
  // every other stage, selected by click, shows its own numbers
  for (const name of ['top_k', 'min_p']) {
    await page.click(`.side[data-side=A] .stage[data-stage=${name}]`);
    const w = await view();
    sameStage(w, want.stages.find((s) => s.stage.startsWith(name)), name);
  }
});

test('moving top_p changes the after-stage bars as logitlab inspect does', async () => {
  await page.click('.side[data-side=A] .stage[data-stage=top_p]');
  const slider = 'input[type=range][aria-label=top_p]';
  await page.focus(slider);
  for (let i = 0; i < 15; i++) await page.keyboard.press('ArrowLeft');
  await settled();
  const value = await page.$eval('#p-top_p', (e) => e.value);
  assert.notEqual(Number(value), 0.95, 'the slider moved');
  const v = await view();
  assert.match(v.focus, /^top_p\(/);
  const st = inspect(['--top-p', value]).stages.find((s) => s.stage.startsWith('top_p('));
  sameStage(v, st, `top_p ${value}`);
  // a screen reader reads the control as "top_p" with its value
  const ax = await page.accessibility.snapshot({ interestingOnly: true });
  const found = [];
  (function walk(n) {
    if (n.name === 'top_p') found.push(n);
    for (const c of n.children || []) walk(c);
  })(ax);
  assert.ok(found.some((n) => String(n.value) === value), `an accessible "top_p, ${value}" (found ${JSON.stringify(found)})`);
  shared = { url: page.url(), view: v, value };
  // the README's picture (docs/playground.png): this view, when asked for
  // (the upper part only: the README asks for a picture under 200 KB)
  if (process.env.LOGITLAB_README_SHOT) await page.screenshot({ path: process.env.LOGITLAB_README_SHOT, clip: { x: 0, y: 0, width: 1280, height: 600 } });
  assert.match(shared.url, new RegExp(`top_p=${value.replace('.', '\\.')}`));
});

test('a shared link reproduces the view', async () => {
  const p2 = await browser.newPage();
  await p2.setViewport({ width: 1280, height: 900 });
  await open(p2, new URL(shared.url).search);
  assert.equal(await p2.$eval('#prompt', (e) => e.value), PROMPT);
  assert.equal(await p2.$eval('#profile', (e) => e.value), PROFILE);
  assert.equal(await p2.$eval('#p-top_p', (e) => e.value), shared.value);
  assert.deepEqual(await view(p2), shared.view);
  await p2.close();
});

test('a value out of range shows the server\'s error next to its control', async () => {
  await page.click('#p-top_p', { clickCount: 3 });
  await page.type('#p-top_p', '1.5');
  await settled();
  const r = await fetch(server.url + '/v1/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, profile: PROFILE, top_p: 1.5, max_tokens: 1 }),
  });
  const want = (await r.json()).error;
  assert.equal(r.status, 400);
  assert.equal(want.param, 'top_p');
  const shown = await page.$eval('#p-top_p', (input) => {
    const wrap = input.closest('.param');
    return { text: wrap.querySelector('.err').textContent, invalid: input.getAttribute('aria-invalid'), described: input.getAttribute('aria-describedby') };
  });
  assert.equal(shown.text, want.message);
  assert.equal(shown.invalid, 'true');
  assert.match(shown.described, /err-top_p/);
  // back to a valid value: the error goes
  await page.click('#p-top_p', { clickCount: 3 });
  await page.type('#p-top_p', shared.value);
  await settled();
  assert.equal(await page.$eval('#err-top_p', (e) => e.textContent), '');
});

test('step mode: three tokens, one forced, then undo', async () => {
  await page.click('input[name=mode][value=step]');
  await settled();
  await page.click('#step');
  await settled();
  // the third bar of the after list is forced
  const forced = await page.$eval('.side[data-side=A] .after .bar[data-id]:nth-child(3)', (b) => Number(b.dataset.id));
  await page.click('.side[data-side=A] .after .bar[data-id]:nth-child(3) button');
  await settled();
  await page.click('#step');
  await settled();
  const steps = await page.$$eval('#step-text .tok-step', (s) => s.map((x) => ({ id: Number(x.dataset.id), forced: x.classList.contains('forced') })));
  assert.equal(steps.length, 3);
  assert.deepEqual(steps.map((s) => s.forced), [false, true, false]);
  assert.equal(steps[1].id, forced);
  // the first step is the token `logitlab generate` picks with the same settings and seed
  const gen = JSON.parse(execFileSync(BIN, ['generate', '-p', PROMPT, '--json', '--threads', '1', '--profile', PROFILE, '--top-p', shared.value, '--max-new-tokens', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  assert.equal(steps[0].id, gen.results[0].tokens[0]);
  await page.click('#undo');
  await settled();
  const left = await page.$$eval('#step-text .tok-step', (s) => s.map((x) => Number(x.dataset.id)));
  assert.deepEqual(left, steps.slice(0, 2).map((s) => s.id));
  assert.match(page.url(), new RegExp(`steps=${steps[0].id}%2C%21${forced}(&|$)`));
});

test('generate mode streams the tokens of logitlab generate, tinted, with alternatives', async () => {
  await page.click('input[name=mode][value=generate]');
  await settled();
  await page.click('#maxtok', { clickCount: 3 });
  await page.type('#maxtok', '12');
  await page.click('#generate');
  await page.waitForFunction(() => document.body.dataset.gen === 'done', WAIT);
  const toks = await page.$$eval('#gen-out .gtok', (s) => s.map((x) => ({ id: Number(x.dataset.id), p: Number(x.dataset.p) })));
  const gen = JSON.parse(execFileSync(BIN, ['generate', '-p', PROMPT, '--json', '--threads', '1', '--profile', PROFILE, '--top-p', shared.value, '--max-new-tokens', '12'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  assert.deepEqual(toks.map((t) => t.id), gen.results[0].tokens);
  // llama.cpp's top_k 40 keeps fewer candidates than the trace lists: every token's processed p is known
  assert.ok(toks.every((t) => t.p > 0 && t.p <= 1), `each token has its probability: ${JSON.stringify(toks)}`);
  assert.match(await page.$eval('#gen-out .side', (e) => e.textContent), /seed 42/);
  // focus shows the alternatives: raw and processed log-probs
  await page.focus('#gen-out .gtok');
  const tip = await page.$eval('#gen-out .gtok .tip', (t) => ({ shown: getComputedStyle(t).display !== 'none', rows: t.querySelectorAll('tr').length, head: t.textContent }));
  assert.ok(tip.shown);
  assert.ok(tip.rows >= 2);
  assert.match(tip.head, /raw log p.*processed log p/);
});

test('a lesson shows its concept and the C source of its stage', async () => {
  await page.click('input[name=mode][value=next]');
  await settled();
  await page.click('.side[data-side=A] .stage[data-stage=min_p]');
  const lesson = await page.evaluate(() => ({
    title: document.getElementById('lesson-title').textContent,
    concept: document.getElementById('lesson-concept').textContent,
    live: document.getElementById('lesson-live').textContent,
    sources: [...document.querySelectorAll('#lesson-sources details')].map((d) => ({
      head: d.querySelector('summary').textContent,
      text: d.querySelector('pre').textContent,
    })),
  }));
  assert.match(lesson.title, /min_p/);
  assert.match(lesson.concept, /min_p/);
  assert.match(lesson.live, /^Live: min_p\(/);
  assert.ok(lesson.sources.length >= 1);
  // the source shown is the tree's text at the path and line it names
  for (const s of lesson.sources) {
    const m = s.head.match(/^(\S+) (\S+):(\d+)$/);
    assert.ok(m, s.head);
    assert.ok(s.text.includes(m[1]), `${m[1]} is in its source`);
    const file = readFileSync(join(root, m[2]), 'utf8').split('\n');
    const first = s.text.split('\n')[0];
    assert.equal(file[Number(m[3]) - 1], first, `${m[2]}:${m[3]}`);
  }
  // the lesson list holds every lesson of the tour; picking one shows it
  await page.select('#lesson-pick', 'seeds');
  assert.match(await page.$eval('#lesson-title', (e) => e.textContent), /Seeds/);
});

test('compare: B under another profile beside A', async () => {
  const a = await view();
  await page.click('#compare');
  await settled();
  await page.click('input[name=side][value="1"]');
  await page.select('#profile', 'hf');
  await settled();
  const b = await page.$$eval('#sides .side[data-side=B] .stage', (s) => s.map((x) => x.title));
  const hf = JSON.parse(execFileSync(BIN, ['inspect', '-p', PROMPT, '--json', '--profile', 'hf', '--top-p', shared.value, '--threads', '1'], { encoding: 'utf8' }));
  assert.deepEqual(b, hf.stages.map((s) => s.stage));
  assert.deepEqual((await view()).chain, a.chain, 'A is unchanged');
  assert.match(page.url(), /compare=1/);
  assert.match(page.url(), /b\.profile=hf/);
  await page.click('#compare');
  await settled();
});

test('colour scheme and reduced motion follow the system', async () => {
  const look = () => page.evaluate(() => ({
    bg: getComputedStyle(document.body).backgroundColor,
    motion: getComputedStyle(document.querySelector('.fill')).transitionDuration,
  }));
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }, { name: 'prefers-reduced-motion', value: 'no-preference' }]);
  const light = await look();
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }, { name: 'prefers-reduced-motion', value: 'reduce' }]);
  const dark = await look();
  assert.notEqual(light.bg, dark.bg);
  assert.notEqual(light.motion, '0s');
  assert.equal(dark.motion, '0s');
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }, { name: 'prefers-reduced-motion', value: 'no-preference' }]);
});

test('screenshots: desktop and 360 px, no sideways scrolling at 360 px', async () => {
  await page.setViewport({ width: 1280, height: 900 });
  await settled();
  await page.screenshot({ path: join(ARTIFACTS, 'playground-desktop.png') });
  await page.setViewport({ width: 360, height: 780 });
  await settled();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 360, `the page is ${overflow} px wide at 360 px`);
  await page.screenshot({ path: join(ARTIFACTS, 'playground-360.png'), fullPage: true });
  assert.ok(existsSync(join(ARTIFACTS, 'playground-360.png')));
});

test('the server stops cleanly (under the sanitizers: no report)', async () => {
  await browser.close();
  browser = null;
  const exited = new Promise((res) => server.on('exit', (code, sig) => res({ code, sig })));
  server.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error/);
});
