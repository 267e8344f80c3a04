// app.js - the logitlab playground (issue 12). Every parameter, range,
// default, stage order and lesson comes from GET /playground.json (the
// server's tables); every number drawn comes from the server's `trace`
// (POST /v1/completions with trace: true). Nothing here re-implements a
// sampler: the page only asks and draws.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
};

let meta = null; // /playground.json
// stage: the name of the stage in focus (null: the one before the selecting stage)
const newSide = (profile) => ({ profile, values: {}, samplers: null, stage: null, result: null, errors: {} });
const state = {
  prompt: 'In the beginning',
  mode: 'next',
  topN: 10,
  maxTokens: 32,
  compare: false,
  active: 0,
  sides: [],
  steps: [], // step mode: {id, text, forced}
  promptIds: null, // the prompt as token ids (step mode)
  lesson: null, // a lesson id picked by hand (else the stage in focus decides)
};

const profileMeta = (name) => meta.profiles.find((p) => p.name === name);
const paramMeta = (side, name) => profileMeta(side.profile).params.find((p) => p.name === name);
const baseName = (stage) => stage.replace(/^\?/, '').replace(/\(.*$/, '');
const fmt = (v, d = 4) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
const show = (v) => (v === null ? 'unbounded' : String(v));

// ---- the server ----

let apiKey = sessionStorage.getItem('logitlab-key') || '';
function headers() {
  const h = { 'content-type': 'application/json' };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

async function post(path, body, signal) {
  const r = await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
  if (r.status === 401) $('keybox').hidden = false;
  const json = await r.json().catch(() => null);
  return { status: r.status, json };
}

// A parameter's value as sent: a number when the text is one, else the
// text itself, so the server names what is wrong with it (never dropped).
function asValue(text) {
  const t = String(text).trim();
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

// The request fields of one side: only what differs from the profile's defaults.
function sideFields(side) {
  const b = { profile: side.profile };
  for (const [k, v] of Object.entries(side.values)) b[k] = asValue(v);
  // the seed the page shows, always: the server draws a random one for a
  // request without it, and a view must repeat exactly
  if (b.seed === undefined && paramMeta(side, 'seed')) b.seed = asValue(seedOf(side));
  if (side.samplers) b.samplers = side.samplers.slice();
  return b;
}

function promptField() {
  if (state.mode === 'step' && state.promptIds) return [...state.promptIds, ...state.steps.map((s) => s.id)];
  return state.prompt;
}

// ---- the distribution ----

// body[data-state]: "pending" from a change until its answer is drawn,
// then "ready" (what a test, or a screen reader's user, waits for)
let inflight = null;
let debounce = null;
let changes = 0;
function refresh(delay = 120) {
  clearTimeout(debounce);
  changes++;
  document.body.dataset.state = 'pending';
  debounce = setTimeout(run, delay);
  writeUrl();
}

async function run() {
  const seen = changes;
  if (inflight) inflight.abort();
  const ctl = new AbortController();
  inflight = ctl;
  setError('general', '');
  setError('prompt', '');
  document.body.classList.add('busy');
  try {
    if (state.mode === 'step' && !state.promptIds) await tokenizePrompt(ctl.signal);
    const sides = state.compare ? state.sides : state.sides.slice(0, 1);
    await Promise.all(
      sides.map(async (side) => {
        const body = { ...sideFields(side), prompt: promptField(), max_tokens: 1, trace: true, trace_top: state.topN };
        const { status, json } = await post('/v1/completions', body, ctl.signal);
        side.errors = {};
        if (status !== 200) {
          side.result = null;
          sideError(side, json);
          return;
        }
        const choice = json.choices[0];
        side.result = { stages: choice.trace[0].stages, chain: choice.trace[0].chain, selected: choice.trace[0].selected, text: choice.text };
      }),
    );
  } catch (e) {
    if (e.name === 'AbortError') return;
    setError('general', String(e.message || e));
  } finally {
    if (inflight === ctl) {
      inflight = null;
      document.body.classList.remove('busy');
    }
  }
  if (inflight) return;
  renderSides();
  renderErrors();
  renderLesson();
  if (seen === changes) document.body.dataset.state = 'ready';
}

// The stage in focus: the one named, else the last before the one that
// selects (the distribution that is sampled from).
function stageIndex(side) {
  const stages = side.result.stages;
  const i = side.stage ? stages.findIndex((st) => baseName(st.stage) === side.stage) : -1;
  return i >= 0 ? i : Math.max(0, stages.length - 2);
}

function sideError(side, json) {
  const err = json && json.error ? json.error : { message: 'no answer from the server', param: null };
  const where = err.param && $('err-' + err.param) ? err.param : err.param && side.values[err.param] !== undefined ? err.param : 'general';
  side.errors[where] = err.message;
}

async function tokenizePrompt(signal) {
  const { status, json } = await post('/tokenize', { content: state.prompt, add_special: true }, signal);
  if (status !== 200) throw new Error(json && json.error ? json.error.message : 'tokenize failed');
  state.promptIds = json.tokens;
}

// ---- drawing ----

function setError(where, msg) {
  const e = $('err-' + where);
  if (!e) return;
  e.textContent = msg;
  const input = document.querySelector(`[data-param="${where}"]`) || (where === 'prompt' ? $('prompt') : null);
  if (input) input.setAttribute('aria-invalid', msg ? 'true' : 'false');
}

function renderErrors() {
  for (const e of document.querySelectorAll('.err')) e.textContent = '';
  for (const i of document.querySelectorAll('[aria-invalid]')) i.setAttribute('aria-invalid', 'false');
  state.sides.forEach((side, k) => {
    if (k > 0 && !state.compare) return;
    const all = side.linkError ? { ...side.errors, profile: side.linkError } : side.errors;
    for (const [where, msg] of Object.entries(all)) {
      const shown = k === state.active || where === 'general' || where === 'prompt';
      if (!shown) continue;
      const prefix = state.compare ? `${'AB'[k]}: ` : '';
      const e = $('err-' + where);
      setError(where, (e && e.textContent ? e.textContent + ' ' : '') + prefix + msg);
    }
  });
}

function bars(list, { total, clickable, label }) {
  const ol = el('ol', { class: 'bars', 'aria-label': label });
  let sum = 0;
  for (const t of list) {
    sum += t.p;
    const row = el('li', { class: 'bar', 'data-id': t.id, 'data-p': t.p, 'data-logit': t.logit === null ? '' : t.logit });
    const name = el('span', { class: 'tok', text: JSON.stringify(t.token) });
    const fill = el('span', { class: 'fill' });
    fill.style.setProperty('--w', String(Math.max(0, Math.min(1, t.p))));
    const num = el('span', { class: 'num', text: fmt(t.p) });
    const inner = [name, el('span', { class: 'track' }, fill), num];
    if (clickable) {
      row.append(
        el('button', { type: 'button', class: 'force', 'aria-label': `force ${JSON.stringify(t.token)}, p ${fmt(t.p)}`, onclick: () => force(t) }, ...inner),
      );
    } else {
      row.setAttribute('aria-label', `${JSON.stringify(t.token)}, p ${fmt(t.p)}`);
      row.append(...inner);
    }
    ol.append(row);
  }
  const rest = Math.max(0, 1 - sum);
  const restRow = el('li', { class: 'bar rest', 'data-rest': rest },
    el('span', { class: 'tok', text: `the other ${Math.max(0, total - list.length)}` }),
    el('span', { class: 'track' }, el('span', { class: 'fill' })),
    el('span', { class: 'num', text: fmt(rest) }));
  restRow.querySelector('.fill').style.setProperty('--w', String(rest));
  ol.append(restRow);
  return ol;
}

function renderSides() {
  const box = $('sides');
  box.replaceChildren();
  const sides = state.compare ? state.sides : state.sides.slice(0, 1);
  sides.forEach((side, k) => {
    const col = el('section', { class: 'side', 'data-side': 'AB'[k], 'aria-label': `settings ${'AB'[k]}` });
    if (state.compare) col.append(el('h3', { text: `${'AB'[k]}: ${side.profile}` }));
    if (!side.result) {
      col.append(el('p', { class: 'muted', text: Object.values(side.errors).join(' ') || '…' }));
      box.append(col);
      return;
    }
    const stages = side.result.stages;
    const focus = stageIndex(side);
    const chain = el('ol', { class: 'chain', 'aria-label': 'the chain, in order' });
    stages.forEach((st, i) => {
      const off = st.stage.startsWith('?');
      const b = el('button', {
        type: 'button',
        class: 'stage' + (off ? ' off' : ''),
        'aria-pressed': i === focus ? 'true' : 'false',
        'data-stage': baseName(st.stage),
        title: st.stage,
        onclick: () => {
          side.stage = baseName(st.stage);
          state.lesson = null;
          renderSides();
          renderLesson();
          writeUrl();
        },
      }, el('span', { class: 'sname', text: baseName(st.stage) }), el('span', { class: 'scount', text: `${st.n_after}` }));
      chain.append(el('li', {}, b));
    });
    col.append(chain);
    const st = stages[focus];
    const removed = st.mass_removed || 0;
    col.append(el('p', { class: 'stats', 'aria-live': 'polite' },
      el('strong', { text: st.stage }), ` · candidates ${st.n_before} → ${st.n_after} · mass removed ${fmt(removed)}`,
      ` · entropy ${fmt(st.entropy_before, 3)} → `, el('span', { class: 'entropy', text: fmt(st.entropy_after, 3) }), ' nats'));
    const pair = el('div', { class: 'pair' });
    pair.append(el('div', { class: 'before' }, el('h4', { text: 'before' }),
      bars(st.top_before, { total: st.n_before, clickable: false, label: `before ${baseName(st.stage)}` })));
    pair.append(el('div', { class: 'after' }, el('h4', { text: 'after (renormalised)' }),
      bars(st.top_after, { total: st.n_after, clickable: state.mode === 'step' && k === 0, label: `after ${baseName(st.stage)}` })));
    col.append(pair);
    col.append(el('p', { class: 'muted small' }, 'next token: ', el('code', { class: 'picked', text: JSON.stringify(side.result.text) }),
      ` (id ${side.result.selected})`));
    box.append(col);
  });
  renderStepText();
}

// ---- the controls ----

function orderOf(side) {
  return side.samplers || profileMeta(side.profile).order;
}

function renderControls() {
  const side = state.sides[state.active];
  const prof = profileMeta(side.profile);
  $('profile').value = side.profile;
  $('profile-about').textContent = `${prof.framework}. Greedy: ${prof.greedy}. Length: ${prof.length}.`;
  $('side-pick').hidden = !state.compare;
  // the order editor
  const ol = $('order');
  ol.replaceChildren();
  const order = orderOf(side);
  order.forEach((name, i) => {
    const move = (d) => {
      const o = orderOf(side).slice();
      const j = i + d;
      if (j < 0 || j >= o.length) return;
      [o[i], o[j]] = [o[j], o[i]];
      setOrder(side, o);
      renderControls();
      ol.querySelectorAll('li')[j].querySelector(d < 0 ? '.up' : '.down')?.focus();
    };
    const li = el('li', { draggable: 'true', 'data-stage': name },
      el('span', { class: 'grip', 'aria-hidden': 'true', text: '⠿' }), el('span', { class: 'oname', text: name }),
      el('button', { type: 'button', class: 'up', 'aria-label': `move ${name} earlier`, disabled: i === 0, onclick: () => move(-1) }, '↑'),
      el('button', { type: 'button', class: 'down', 'aria-label': `move ${name} later`, disabled: i === order.length - 1, onclick: () => move(1) }, '↓'));
    li.addEventListener('dragstart', (e) => e.dataTransfer.setData('text/plain', String(i)));
    li.addEventListener('dragover', (e) => e.preventDefault());
    li.addEventListener('drop', (e) => {
      e.preventDefault();
      const from = Number(e.dataTransfer.getData('text/plain'));
      const o = orderOf(side).slice();
      const [moved] = o.splice(from, 1);
      o.splice(i, 0, moved);
      setOrder(side, o);
      renderControls();
    });
    ol.append(li);
  });
  $('order-box').hidden = order.length < 2;
  // one group per stage, in the order they run, then the rest
  const groups = new Map();
  const stageNames = [...prof.front, ...order];
  for (const s of stageNames) groups.set(s, []);
  groups.set('', []);
  for (const p of prof.params) (groups.has(p.stage) ? groups.get(p.stage) : groups.get('')).push(p);
  const box = $('params');
  box.replaceChildren();
  for (const [stage, params] of groups) {
    if (!params.length && stage) continue;
    const fs = el('fieldset', { class: 'group', 'data-group': stage || 'general' }, el('legend', { text: stage || 'general' }));
    if (!stage) fs.append(toggle(side, prof.switch));
    for (const p of params) fs.append(control(side, p));
    box.append(fs);
  }
  renderErrors();
  renderSeed();
}

function setOrder(side, o) {
  const def = profileMeta(side.profile).order;
  side.samplers = o.join(',') === def.join(',') ? null : o;
  refresh();
}

// A true/false parameter (do_sample): sent only when it differs from the profile's default.
function toggle(side, sw) {
  const id = `p-${sw.name}`;
  const on = side.values[sw.name] !== undefined ? side.values[sw.name] === 'true' : sw.default;
  const box = el('input', { id, type: 'checkbox', 'data-param': sw.name, checked: on, 'aria-describedby': `about-${sw.name} err-${sw.name}` });
  box.addEventListener('change', () => {
    if (box.checked === sw.default) delete side.values[sw.name];
    else side.values[sw.name] = String(box.checked);
    refresh();
  });
  return el('div', { class: 'param' },
    el('div', { class: 'prow' }, el('label', { for: id, text: sw.name }), box),
    el('p', { class: 'about small muted', id: `about-${sw.name}`, text: `${sw.help}. default ${sw.default}` }),
    el('p', { class: 'err', id: `err-${sw.name}`, 'aria-live': 'polite' }));
}

function control(side, p) {
  const id = `p-${p.name}`;
  const cur = side.values[p.name] !== undefined ? side.values[p.name] : p.default === null ? '' : String(p.default);
  const step = p.type === 'int' || p.type === 'seed' ? '1' : 'any';
  const wrap = el('div', { class: 'param' + (side.values[p.name] !== undefined ? ' set' : '') });
  const num = el('input', {
    id, type: 'text', inputmode: p.type === 'int' || p.type === 'seed' ? 'numeric' : 'decimal', 'data-param': p.name,
    value: cur, 'aria-describedby': `about-${p.name} err-${p.name}`, autocomplete: 'off', spellcheck: 'false',
  });
  const set = (v) => {
    if (String(v) === String(p.default)) delete side.values[p.name];
    else side.values[p.name] = String(v);
    wrap.classList.toggle('set', side.values[p.name] !== undefined);
    refresh();
    renderSeed();
  };
  num.addEventListener('input', () => {
    if (slider && Number.isFinite(Number(num.value))) slider.value = num.value;
    set(num.value);
  });
  let slider = null;
  const [lo, hi] = p.slider || p.valid;
  if (lo !== null && hi !== null && hi > lo && hi - lo <= 1e6) {
    slider = el('input', {
      type: 'range', min: lo, max: hi, step: step === '1' ? '1' : String((hi - lo) / 200), value: Number(cur),
      'aria-label': p.name, 'aria-describedby': `about-${p.name}`, tabindex: '0',
    });
    slider.addEventListener('input', () => {
      num.value = slider.value;
      set(slider.value);
    });
  }
  const about = [`default ${show(p.default)}${p.default_off ? ' (off)' : ''}`];
  about.push(p.valid[0] === null && p.valid[1] === null ? 'range checked by its stage' : `valid [${show(p.valid[0])}, ${show(p.valid[1])}]`);
  if (p.needs) about.push(`needs ${p.needs} ${p.needs_text}`);
  wrap.append(el('div', { class: 'prow' }, el('label', { for: id, text: p.name }), num));
  if (slider) wrap.append(slider);
  wrap.append(
    el('p', { class: 'about small muted', id: `about-${p.name}`, text: `${p.help}. ${about.join(' · ')}` }),
    el('p', { class: 'err', id: `err-${p.name}`, 'aria-live': 'polite' }),
  );
  return wrap;
}

// ---- step mode ----

function force(t) {
  state.steps.push({ id: t.id, text: t.token, forced: true });
  refresh(0);
}

function stepOnce() {
  const side = state.sides[0];
  if (!side.result) return;
  state.steps.push({ id: side.result.selected, text: side.result.text, forced: false });
  refresh(0);
}

function renderStepText() {
  const p = $('step-text');
  p.replaceChildren(el('span', { class: 'muted', text: state.prompt }));
  for (const s of state.steps) p.append(el('span', { class: 'tok-step' + (s.forced ? ' forced' : ''), 'data-id': s.id, title: s.forced ? 'forced' : 'picked by the chain', text: s.text }));
  $('undo').disabled = state.steps.length === 0;
}

// ---- generate mode ----

let genCtl = null;
async function generate() {
  if (genCtl) genCtl.abort();
  genCtl = new AbortController();
  const ctl = genCtl;
  document.body.dataset.gen = 'running';
  $('stop').disabled = false;
  $('generate').disabled = true;
  setError('max_tokens', '');
  const out = $('gen-out');
  out.replaceChildren();
  const sides = state.compare ? state.sides : state.sides.slice(0, 1);
  try {
    await Promise.all(sides.map((side, k) => stream(side, k, out, ctl)));
  } catch (e) {
    if (e.name !== 'AbortError') setError('general', String(e.message || e));
  } finally {
    if (genCtl === ctl) genCtl = null;
    $('stop').disabled = true;
    $('generate').disabled = false;
    document.body.dataset.gen = 'done';
  }
}

async function stream(side, k, out, ctl) {
  const col = el('div', { class: 'side gen', 'data-side': 'AB'[k] });
  if (state.compare) col.append(el('h3', { text: `${'AB'[k]}: ${side.profile}` }));
  const text = el('p', { class: 'gen', 'aria-live': 'polite' }, el('span', { class: 'muted', text: state.prompt }));
  const info = el('p', { class: 'muted small' });
  col.append(text, info);
  out.append(col);
  // the chosen token's processed probability is in the trace's lists only:
  // ask for the longest ones so that it is there whenever the chain kept
  // at most that many candidates
  const body = { ...sideFields(side), prompt: state.prompt, max_tokens: asValue(state.maxTokens), stream: true, trace: true,
    trace_top: meta.trace_top_max, logprobs: 0 };
  const r = await fetch('/v1/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: ctl.signal });
  if (r.status !== 200) {
    const json = await r.json().catch(() => null);
    const err = json && json.error ? json.error : { message: `HTTP ${r.status}` };
    const where = err.param && $('err-' + err.param) ? err.param : 'general';
    setError(where, (state.compare ? `${'AB'[k]}: ` : '') + err.message);
    return;
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = ev.startsWith('data: ') ? ev.slice(6) : '';
      if (!data || data === '[DONE]') continue;
      const j = JSON.parse(data);
      const c = j.choices && j.choices[0];
      if (!c) continue;
      if (c.trace) {
        text.append(tokenSpan(c.text, c.trace, c.logprobs ? c.logprobs.token_logprobs[0] : null));
        n++;
      }
      if (c.finish_reason) info.textContent = `${n} tokens · finish_reason ${c.finish_reason} · seed ${seedOf(side)} · profile ${side.profile}`;
    }
  }
}

// A generated token tinted by its probability; its alternatives, raw (the
// first stage's input) and processed (what the selecting stage drew
// from), on hover or focus.
function tokenSpan(text, trace, rawChosen) {
  const stages = trace.stages;
  const raw = stages[0].top_before;
  const proc = stages[stages.length - 1].top_before;
  const chosen = proc.find((t) => t.id === trace.selected);
  const p = chosen ? chosen.p : 0;
  const span = el('span', { class: 'gtok', tabindex: '0', 'data-id': trace.selected, 'data-p': chosen ? p : '', text: text || '∅' });
  span.style.setProperty('--p', String(p));
  const tip = el('span', { class: 'tip', role: 'tooltip' });
  const pText = chosen ? `p ${fmt(p)}` : `below the top ${proc.length} of ${stages[stages.length - 1].n_before}`;
  tip.append(el('span', { class: 'tiphead', text: `${pText} · raw log p ${rawChosen === null ? '–' : fmt(rawChosen, 3)}` }));
  const table = el('table', {}, el('tr', {}, el('th', { text: 'token' }), el('th', { text: 'raw log p' }), el('th', { text: 'processed log p' })));
  const ids = [trace.selected, ...new Set([...proc.map((t) => t.id), ...raw.map((t) => t.id)])].filter((id, i, a) => a.indexOf(id) === i).slice(0, 6);
  for (const id of ids) {
    const r = raw.find((t) => t.id === id);
    const q = proc.find((t) => t.id === id);
    if (!r && !q) continue;
    const tok = (r || q).token;
    table.append(el('tr', { class: id === trace.selected ? 'chosen' : '' }, el('td', { text: JSON.stringify(tok) }),
      el('td', { text: r ? fmt(Math.log(r.p), 3) : '–' }), el('td', { text: q && q.p > 0 ? fmt(Math.log(q.p), 3) : '–' })));
  }
  tip.append(table);
  span.setAttribute('aria-label', `${JSON.stringify(text)}, ${pText}`);
  span.append(tip);
  return span;
}

function seedOf(side) {
  return side.values.seed !== undefined ? side.values.seed : String(paramMeta(side, 'seed')?.default ?? '');
}

function renderSeed() {
  const side = state.sides[state.active];
  const has = !!paramMeta(side, 'seed');
  $('seed-shown').textContent = has ? `seed ${seedOf(side)}` : `the ${side.profile} profile has no seed`;
  $('newseed').disabled = !has;
}

// ---- the lesson panel ----

function lessonFor(stageName) {
  return meta.lessons.find((l) => l.stage === stageName);
}

function renderLesson() {
  const side = state.sides[state.active] || state.sides[0];
  const st = side.result ? side.result.stages[stageIndex(side)] : null;
  let L = state.lesson ? meta.lessons.find((l) => l.id === state.lesson) : null;
  if (!L && st) L = lessonFor(baseName(st.stage));
  if (!L) L = meta.lessons[0];
  $('lesson-pick').value = L.id;
  $('lesson-title').textContent = L.title;
  $('lesson-concept').textContent = L.concept;
  const live = $('lesson-live');
  live.replaceChildren();
  if (st) {
    const vals = L.params.map((n) => {
      const p = paramMeta(side, n);
      return p ? `${n} = ${side.values[n] !== undefined ? side.values[n] : show(p.default)}` : `${n}: not in ${side.profile}`;
    });
    live.append(el('p', {}, el('strong', { text: 'Live: ' }),
      `${st.stage}: ${st.n_before} → ${st.n_after} candidates, mass removed ${fmt(st.mass_removed || 0)}, entropy ${fmt(st.entropy_before, 3)} → ${fmt(st.entropy_after, 3)}`,
      vals.length ? ` (${vals.join(', ')})` : ''));
  }
  const src = $('lesson-sources');
  src.replaceChildren();
  for (const s of L.sources) {
    src.append(el('details', { class: 'source', open: true },
      el('summary', {}, el('code', { text: s.function }), ` ${s.path}:${s.line}`),
      el('pre', {}, el('code', { text: s.text }))));
  }
}

// ---- the URL: a link reproduces the view ----

function writeUrl() {
  const q = new URLSearchParams();
  q.set('prompt', state.prompt);
  if (state.mode !== 'next') q.set('mode', state.mode);
  if (state.topN !== 10) q.set('bars', String(state.topN));
  if (state.mode === 'generate') q.set('max_tokens', String(state.maxTokens));
  if (state.mode === 'step' && state.steps.length) q.set('steps', state.steps.map((s) => (s.forced ? '!' : '') + s.id).join(','));
  state.sides.forEach((side, k) => {
    if (k > 0 && !state.compare) return;
    const pre = k ? 'b.' : '';
    q.set(pre + 'profile', side.profile);
    for (const [n, v] of Object.entries(side.values)) q.set(pre + n, v);
    if (side.samplers) q.set(pre + 'samplers', side.samplers.join(','));
    if (side.stage) q.set(pre + 'stage', side.stage);
  });
  if (state.compare) q.set('compare', '1');
  history.replaceState(null, '', '?' + q.toString());
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  const known = (name) => meta.profiles.some((p) => p.name === name);
  if (q.has('prompt')) state.prompt = q.get('prompt');
  if (['next', 'step', 'generate'].includes(q.get('mode'))) state.mode = q.get('mode');
  if (q.has('bars')) state.topN = asValue(q.get('bars'));
  if (q.has('max_tokens')) state.maxTokens = q.get('max_tokens');
  state.compare = q.get('compare') === '1';
  state.sides = [newSide(meta.default_profile), newSide(meta.default_profile)];
  state.sides.forEach((side, k) => {
    const pre = k ? 'b.' : '';
    const prof = q.get(pre + 'profile');
    if (prof && known(prof)) side.profile = prof;
    else if (prof) side.linkError = `the link names the profile '${prof}', which this server does not have`;
    const pm = profileMeta(side.profile);
    for (const p of [...pm.params, pm.switch]) if (q.has(pre + p.name)) side.values[p.name] = q.get(pre + p.name);
    if (q.has(pre + 'samplers')) side.samplers = q.get(pre + 'samplers').split(',').filter(Boolean);
    if (q.has(pre + 'stage')) side.stage = q.get(pre + 'stage');
  });
  if (q.has('steps'))
    state.steps = q.get('steps').split(',').filter(Boolean).map((s) => ({ id: Number(s.replace('!', '')), text: '', forced: s.startsWith('!') }));
}

// ---- wiring ----

function syncTop() {
  $('prompt').value = state.prompt;
  for (const r of document.querySelectorAll('input[name=mode]')) r.checked = r.value === state.mode;
  $('topn').value = state.topN;
  $('topn').max = String(meta.trace_top_max);
  $('maxtok').value = state.maxTokens;
  $('compare').checked = state.compare;
  $('step-panel').hidden = state.mode !== 'step';
  $('gen-panel').hidden = state.mode !== 'generate';
}

async function fillStepTexts() {
  // a shared link holds the steps' ids: their text comes from the server
  for (const s of state.steps) {
    if (s.text) continue;
    const { status, json } = await post('/detokenize', { tokens: [s.id] });
    s.text = status === 200 ? json.content : `[${s.id}]`;
  }
}

async function start() {
  const r = await fetch('/playground.json');
  meta = await r.json();
  for (const p of meta.profiles) $('profile').append(el('option', { value: p.name, text: p.name }));
  for (const L of meta.lessons) $('lesson-pick').append(el('option', { value: L.id, text: L.title }));
  readUrl();
  const models = await fetch('/v1/models', { headers: headers() }).then((x) => (x.ok ? x.json() : null)).catch(() => null);
  $('model').textContent = models ? `model ${models.data[0].id} · context ${models.data[0].max_model_len} tokens` : 'model: (send the API key to see it)';
  syncTop();
  renderControls();
  if (state.mode === 'step' && state.steps.length) {
    await fillStepTexts();
  }
  $('prompt').addEventListener('input', () => {
    state.prompt = $('prompt').value;
    state.promptIds = null;
    state.steps = [];
    refresh(300);
  });
  for (const r of document.querySelectorAll('input[name=mode]'))
    r.addEventListener('change', () => {
      state.mode = r.value;
      syncTop();
      refresh(0);
    });
  for (const r of document.querySelectorAll('input[name=side]'))
    r.addEventListener('change', () => {
      state.active = Number(r.value);
      renderControls();
      renderLesson();
    });
  $('topn').addEventListener('input', () => {
    state.topN = asValue($('topn').value);
    refresh();
  });
  $('maxtok').addEventListener('input', () => {
    state.maxTokens = $('maxtok').value;
    writeUrl();
  });
  $('compare').addEventListener('change', () => {
    state.compare = $('compare').checked;
    if (state.compare && !state.sides[1].result) {
      const a = state.sides[0];
      state.sides[1] = { ...newSide(a.profile), values: { ...a.values }, samplers: a.samplers && a.samplers.slice() };
    }
    if (!state.compare) state.active = 0;
    for (const r of document.querySelectorAll('input[name=side]')) r.checked = Number(r.value) === state.active;
    renderControls();
    refresh(0);
  });
  $('profile').addEventListener('change', () => {
    const side = state.sides[state.active];
    side.profile = $('profile').value;
    // values the new profile lacks would be errors: keep the ones it has
    const pm = profileMeta(side.profile);
    const names = new Set([...pm.params, pm.switch].map((p) => p.name));
    for (const n of Object.keys(side.values)) if (!names.has(n)) delete side.values[n];
    side.samplers = null;
    renderControls();
    refresh(0);
  });
  $('order-reset').addEventListener('click', () => {
    setOrder(state.sides[state.active], profileMeta(state.sides[state.active].profile).order);
    renderControls();
  });
  $('defaults').addEventListener('click', () => {
    const side = state.sides[state.active];
    side.values = {};
    side.samplers = null;
    renderControls();
    refresh(0);
  });
  $('lesson-pick').addEventListener('change', () => {
    state.lesson = $('lesson-pick').value;
    renderLesson();
  });
  $('step').addEventListener('click', stepOnce);
  $('undo').addEventListener('click', () => {
    state.steps.pop();
      refresh(0);
  });
  $('step-reset').addEventListener('click', () => {
    state.steps = [];
    refresh(0);
  });
  $('generate').addEventListener('click', generate);
  $('stop').addEventListener('click', () => genCtl && genCtl.abort());
  $('newseed').addEventListener('click', () => {
    const side = state.sides[state.active];
    const p = paramMeta(side, 'seed');
    const lo = p.valid[0] ?? 0;
    const hi = Math.min(p.valid[1] ?? 2 ** 31, 2 ** 31);
    side.values.seed = String(lo + Math.floor(Math.random() * (hi - lo)));
    renderControls();
    writeUrl();
  });
  $('share').addEventListener('click', async () => {
    writeUrl();
    try {
      await navigator.clipboard.writeText(location.href);
      $('share').textContent = 'Link copied';
    } catch {
      $('share').textContent = 'Link in the address bar';
    }
    setTimeout(() => ($('share').textContent = 'Copy link'), 2000);
  });
  $('apikey').addEventListener('change', () => {
    apiKey = $('apikey').value;
    sessionStorage.setItem('logitlab-key', apiKey);
    refresh(0);
  });
  refresh(0);
}

start().catch((e) => setError('general', `the playground could not start: ${e.message || e}`));
