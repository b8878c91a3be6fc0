// The package's default entry, as every bundler that follows `new URL(…, import.meta.url)` sees it.
import * as tikcast from 'tikcast';
import { run } from './run.js';

run(tikcast, 'tikcast');
