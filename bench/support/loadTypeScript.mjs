// `node --import ./bench/support/loadTypeScript.mjs bench/<file>.bench.ts`: see typeScriptHooks.mjs.
import { register } from 'node:module';

register('./typeScriptHooks.mjs', import.meta.url);
