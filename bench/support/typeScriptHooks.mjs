// Module hooks that run the benchmarks' TypeScript as the Lambda bundles run it:
// compiled by esbuild with the project's compiler options and nothing added. tsx,
// which the tests and `npm run dev` use, also keeps every function's name with a
// helper called each time a function is created (esbuild's keepNames), and that
// helper is a measurable part of a command's cost; the bundles leave it out.
import { readFile, stat } from 'node:fs/promises';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { transform } from 'esbuild';

const tsconfig = JSON.parse(await readFile(new URL('../../tsconfig.json', import.meta.url), 'utf8'));
const { target, verbatimModuleSyntax } = tsconfig.compilerOptions;

const isFile = async (path) => (await stat(path).catch(() => undefined))?.isFile() === true;
const isRelative = (specifier) => specifier.startsWith('./') || specifier.startsWith('../');

// The sources import without an extension (`../core/db`): a .ts file, or a folder's index.ts.
export async function resolve(specifier, context, nextResolve) {
  if (isRelative(specifier) && context.parentURL?.startsWith('file:') && !/\.[cm]?js$|\.json$/.test(specifier)) {
    const base = new URL(specifier, context.parentURL).href;
    for (const candidate of base.endsWith('.ts') ? [base] : [`${base}.ts`, `${base}/index.ts`]) {
      if (await isFile(fileURLToPath(candidate))) return { url: candidate, format: 'module', shortCircuit: true };
    }
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    sourcefile: path,
    tsconfigRaw: { compilerOptions: { target, verbatimModuleSyntax } },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
