// esbuild plugins for every function bundle (SST's `nodejs.plugins`, and npm run build:functions).
import path from 'node:path';

/**
 * zod's namespace re-exports every locale's messages (about 250 KB minified)
 * through `zod/v4/locales/index.js`; only the English ones, which zod loads
 * itself, are ever used. The index becomes those alone.
 */
const englishZodMessagesOnly = {
  name: 'english-zod-messages-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

export default [englishZodMessagesOnly];
