import type { StoryNode } from '../../core/browser';

/** Prints a result: as JSON with --json, else as the human form given. */
export function output(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`);
}

/** Rows in aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '(none)';
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** A page of a list: its rows, then, when there is more, the `--cursor` that lists the next page. */
export function paged(rows: string, nextCursor: string | null): string {
  return nextCursor === null ? rows : `${rows}\nnext page: --cursor ${nextCursor}`;
}

/** A causation tree, indented. */
export function tree(nodes: readonly StoryNode[], depth = 0): string {
  return nodes.map((node) => `${'  '.repeat(depth)}${node.kind === 'command' ? '▸' : '•'} ${node.label}\n${tree(node.children, depth + 1)}`).join('');
}

/** A progress bar: `[#####-----] 50%`. */
export function progressBar(done: number, total: number, width = 30): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(fraction * 100))}%`;
}
