import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const guide = readFileSync(path.join(root, 'docs/build-your-own-service.md'), 'utf8');

/** Every fenced block whose first line is a comment naming a file of the repository: that file, then the rest of the block. */
function namedBlocks(markdown: string): { file: string; code: string }[] {
  const blocks = [...markdown.matchAll(/^```(?:ts|sql)\n(?:\/\/|--) (\S+)\n([\s\S]*?)^```$/gm)];
  return blocks.map((match) => ({ file: match[1] ?? '', code: match[2] ?? '' }));
}

describe('docs/build-your-own-service.md', () => {
  const blocks = namedBlocks(guide);

  it('shows every file of the example service, and the tests that run it', () => {
    expect(blocks.map((block) => block.file)).toEqual([
      'test/examples/todo/todoList.ts',
      'test/examples/todoList.test.ts',
      'test/examples/todo/todoCommands.ts',
      'test/examples/todo/openItems.ts',
      'test/examples/todo/todoQueries.ts',
      'test/examples/todo/migrations/0001_event_store.sql',
      'test/examples/todo/todoService.ts',
    ]);
  });

  it('shows each file exactly as it is, so the code on the page is the code the suite runs', () => {
    for (const { file, code } of blocks) {
      const onDisk = path.join(root, file);
      expect(existsSync(onDisk), file).toBe(true);
      expect(code, file).toBe(readFileSync(onDisk, 'utf8'));
    }
  });
});
