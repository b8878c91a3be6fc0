// The command line of the bench scripts: `--name value` options and positional arguments.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ and the repository root. */
export const HERE = fileURLToPath(new URL('..', import.meta.url));
export const REPO = resolve(HERE, '..');

/** `opt(name, dflt)`: the value after `--name`; `num`: the same as a number; `positional`:
 * the arguments that are neither an option nor its value. */
export function cli(argv = process.argv.slice(2)) {
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const num = (name, dflt) => Number(opt(name, dflt));
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  return { opt, num, positional };
}

/** Content types of what the bench pages load. */
export const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/** Headless Chromium (`$CHROMIUM` or /usr/bin/chromium) as the races run it: `gc()` exposed. */
export async function launchChromium(chromium) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--js-flags=--expose-gc'],
  });
}

/** Starts `server` on a free port of 127.0.0.1; its origin. */
export async function listen(server) {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}`;
}

/** Bundles the peer (tiktok-live-proto v3 + fflate, `lib/peer-entry.mjs`) for the page as
 * bench/dist/peer.js. */
export async function buildPeer(esbuild) {
  await esbuild.build({
    entryPoints: [join(HERE, 'lib/peer-entry.mjs')], bundle: true, format: 'esm', platform: 'browser',
    minify: true, outfile: join(HERE, 'dist/peer.js'), logLevel: 'warning',
  });
}
