#!/usr/bin/env node
// The demo's static server: the overlay (www/) at /, the built package (js/dist) at
// /pkg/, and the demo recording and gift catalog (tests/fixtures) at /demo/. Binds
// 127.0.0.1 only; prints {"listening":"127.0.0.1:PORT"} as its first line.
//
//   node scripts/serve.mjs [--port 8000] [--fallback] [--max-seconds N]
//
// --port 0 picks a free port; --fallback does so when the given port is taken.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const ROOTS = [
  ['/pkg/', join(REPO, 'js/dist')],
  ['/demo/', join(REPO, 'tests/fixtures')],
  ['/', join(REPO, 'www')],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.tkrec': 'application/octet-stream',
  '.md': 'text/plain; charset=utf-8',
};

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(opt('--port', process.env.PORT ?? '8000'));
const fallback = args.includes('--fallback');
const maxSeconds = Number(opt('--max-seconds', '0'));

/** The file for a URL path, or null when it is outside the served roots. */
function fileFor(pathname) {
  for (const [prefix, root] of ROOTS) {
    if (!pathname.startsWith(prefix)) continue;
    let rest = pathname.slice(prefix.length);
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const file = resolve(root, rest);
    return file === root || file.startsWith(root + sep) ? file : null;
  }
  return null;
}

const server = createServer(async (req, res) => {
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  } catch {
    pathname = '';
  }
  const file = req.method === 'GET' || req.method === 'HEAD' ? fileFor(pathname) : null;
  try {
    if (!file || !(await stat(file)).isFile()) throw new Error('not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }
});

server.on('error', (e) => {
  if (e.code === 'EADDRINUSE' && fallback && port !== 0) {
    console.error(`serve: port ${port} is taken, using a free one`);
    server.listen(0, '127.0.0.1');
    return;
  }
  console.error(`serve: ${e.message}`);
  process.exit(1);
});
server.on('listening', () => {
  console.log(JSON.stringify({ listening: `127.0.0.1:${server.address().port}` }));
});
server.listen(port, '127.0.0.1');

const stop = () => process.exit(0);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (maxSeconds > 0) setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
