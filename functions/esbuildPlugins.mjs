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

/**
 * `pg` picks its sockets when it loads: Cloudflare's, if it runs in a Worker.
 * Where `navigator` is missing (Node 20) its probe builds a `Response`, which
 * loads undici, about 15 ms of every cold start. A Lambda bundle runs on
 * Node, so the choice is made here: Node's sockets, as `pg` makes them.
 */
const nodeSocketsForPg = {
  name: 'node-sockets-for-pg',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      contents: [
        "exports.getStream = function getStream() { return new (require('net').Socket)(); };",
        "exports.getSecureStream = function getSecureStream(options) { return require('tls').connect(options); };",
      ].join('\n'),
      loader: 'js',
    }));
  },
};

export default [englishZodMessagesOnly, nodeSocketsForPg];
