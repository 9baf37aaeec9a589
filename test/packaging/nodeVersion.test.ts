import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PackageJson = z.object({ engines: z.object({ node: z.string() }) });
const PackageLock = z.object({
  packages: z.record(z.string(), z.object({ version: z.string().optional(), engines: z.unknown().optional() })),
});

const readJson = async (file: string): Promise<unknown> => JSON.parse(await readFile(file, 'utf8'));

/** Whether one alternative of an engines range (`>=20.0.0`, `^20.19.0`, `20`, `>= 22.x`) admits this major version. */
function admitsMajor(alternative: string, major: number): boolean {
  const found = /^\s*(>=|>|\^|~)?\s*v?(\d+)/.exec(alternative);
  if (!found) return true;
  const lowest = Number(found[2]);
  return found[1] === '>=' || found[1] === '>' ? lowest <= major : lowest === major;
}

const admits = (range: string, major: number) => range.split('||').some((alternative) => admitsMajor(alternative, major));

/**
 * The Node version the project states is one its dependencies accept, or the
 * README's Quick start says which do not, and why that is all right.
 */
describe('the Node.js version', () => {
  it("the README's Quick start names package.json's minimum, and every installed package that declares a later Node", async () => {
    const { engines } = PackageJson.parse(await readJson('package.json'));
    const readme = await readFile('README.md', 'utf8');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Architecture'));
    const minimum = /^>=\s*(\d+)\.(\d+)$/.exec(engines.node);
    expect(minimum, `engines.node is ${engines.node}`).not.toBeNull();
    const [, major = '', minor = ''] = minimum ?? [];
    expect(quickStart).toContain(`Node.js ${major}.${minor} or newer`);

    const { packages } = PackageLock.parse(await readJson('package-lock.json'));
    const later = Object.entries(packages).flatMap(([location, entry]) => {
      const range = z.object({ node: z.string() }).safeParse(entry.engines);
      if (!location || !range.success || admits(range.data.node, Number(major))) return [];
      return [location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length)];
    });
    for (const name of later) expect(quickStart, `${name} declares a later Node`).toContain(`\`${name}\``);
  });
});
