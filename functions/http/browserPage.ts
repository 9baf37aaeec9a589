import { BROWSER_SCRIPT } from './browserScript';

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d232a; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #1d232a; color: #fff; }
  header a { color: #9fd3ff; }
  form { flex: 1; display: flex; gap: .5rem; }
  input[type=search] { flex: 1; padding: .35rem .5rem; }
  main { padding: 1rem; }
  pre { background: #f4f6f8; padding: .5rem; overflow: auto; }
  li.event summary { cursor: pointer; }
  .tree ul { border-left: 1px dashed #aab; margin-left: .4rem; }
  .command { font-weight: 600; }
  .error { color: #a40000; }
  table td { padding: .2rem .8rem .2rem 0; }
`;

/** The event browser: one page on the browser API, served as is (no build step, no dependency). */
export function browserPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Event browser</title><style>${STYLE}</style></head>
<body>
<header><strong>Event browser</strong><a href="#health">Health</a>
<form id="search"><input id="q" type="search" data-testid="search" placeholder="Stream id, event id, correlation id or trace id" autofocus><button>Find</button></form>
</header>
<main id="view"></main>
<script>${BROWSER_SCRIPT}</script>
</body>
</html>`;
}
