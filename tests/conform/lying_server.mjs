// lying_server.mjs - a proxy in front of a real `logitlab serve` that
// silently drops chosen request fields, as servers that "accept" a
// parameter and ignore it do; tests/test_conform.sh checks that
// `logitlab conform` catches each one. Node's standard library only.
//
//   node lying_server.mjs --upstream http://127.0.0.1:PORT --drop seed,logit_bias
//        [--port N] [--port-file FILE] [--garbage] [--record FILE]
//
// It listens on the loopback, on --port or a free port (written to --port-file). Every
// request goes upstream unchanged except a JSON object body, which loses
// the --drop fields (top level). --garbage answers every request with a
// 200 that is not JSON instead (conform must exit 1). --record appends
// every answer body and a NUL byte to FILE: a run's answers in order, the
// seed of tests/fuzz_conform.c (tests/conform/fuzz-seed.bin).
import http from 'node:http';
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const upstream = new URL(opt('--upstream') ?? 'http://127.0.0.1:8080');
const drop = new Set((opt('--drop') ?? '').split(',').filter(Boolean));
const garbage = args.includes('--garbage');
const record = opt('--record');

function forward(req, body, res) {
  const headers = { ...req.headers, host: upstream.host };
  if (body !== null) headers['content-length'] = Buffer.byteLength(body);
  const up = http.request(
    { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
    (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      const chunks = [];
      ur.on('data', (c) => chunks.push(c));
      ur.on('end', () => {
        if (record) fs.appendFileSync(record, Buffer.concat([...chunks, Buffer.from([0])]));
      });
      ur.pipe(res);
    },
  );
  up.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `upstream: ${e.message}` } }));
  });
  up.end(body ?? undefined);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (garbage) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('this is not JSON');
      return;
    }
    let body = chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
    if (body !== null) {
      try {
        const o = JSON.parse(body);
        if (o && typeof o === 'object' && !Array.isArray(o)) {
          for (const k of drop) delete o[k];
          body = JSON.stringify(o);
        }
      } catch {
        // not JSON: forwarded as it came
      }
    }
    forward(req, body, res);
  });
});
server.listen(Number(opt('--port') ?? 0), '127.0.0.1', () => {
  const port = server.address().port;
  const file = opt('--port-file');
  if (file) fs.writeFileSync(file, `${port}\n`);
  else console.log(port);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
