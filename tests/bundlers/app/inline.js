// The one line the README gives for esbuild (and any bundler that does not copy assets):
import * as tikcast from 'tikcast/inline';
import { run } from './run.js';

run(tikcast, 'tikcast/inline');
