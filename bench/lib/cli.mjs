// The command line of the bench scripts: `--name value` options and positional arguments.
import { resolve } from 'node:path';
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
