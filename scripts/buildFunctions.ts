import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { bundleExternals, ESBUILD_PLUGINS } from '../functions/bundling';
import { service } from '../functions/service';

/** The Lambda entry points: every file under functions/ that exports a `handler`, as sst.config.ts names them. */
export const FUNCTION_ENTRIES = [
  'functions/http/postCommand.ts',
  'functions/http/getCommand.ts',
  'functions/http/query.ts',
  'functions/http/browser.ts',
  'functions/commandWorker.ts',
  'functions/commandSweeper.ts',
  'functions/projector.ts',
  'functions/sagaProcessor.ts',
  'functions/sagaSweeper.ts',
  'functions/publisher.ts',
  'functions/migrator.ts',
];

export const BUNDLE_DIRECTORY = '.build/functions';

// ESM bundles load CommonJS dependencies through a require of their own, as SST's do.
const REQUIRE_BANNER = "import { createRequire as sstCreateRequire } from 'module'; const require = sstCreateRequire(import.meta.url);";

export interface Bundle {
  entry: string;
  file: string;
  bytes: number;
}

/** Bundles one entry point as SST does (esbuild, ESM, minified, Node 22) into `file`. */
export async function bundleFunction(root: string, entry: string, file: string): Promise<Bundle> {
  const plugins = ((await import(path.join(root, ESBUILD_PLUGINS))) as { default: Plugin[] }).default;
  await build({
    entryPoints: [path.join(root, entry)],
    outfile: file,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: bundleExternals(service.database.driver),
    plugins,
    banner: { js: REQUIRE_BANNER },
    logLevel: 'error',
  });
  return { entry, file, bytes: (await stat(file)).size };
}

/** Bundles every function, one file each under .build/functions; returns their sizes. */
export async function buildFunctions(root: string): Promise<Bundle[]> {
  const outdir = path.join(root, BUNDLE_DIRECTORY);
  await rm(outdir, { recursive: true, force: true });
  const bundles = [];
  for (const entry of FUNCTION_ENTRIES) {
    bundles.push(await bundleFunction(root, entry, path.join(outdir, `${entry.replace(/^functions\//, '').replace(/\.ts$/, '')}.mjs`)));
  }
  return bundles;
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]));
if (isMain) {
  const root = process.cwd();
  const bundles = await buildFunctions(root);
  for (const { entry, bytes } of bundles) console.log(`${(bytes / 1024).toFixed(0).padStart(6)} KB  ${entry}`);
  console.log(`written to ${BUNDLE_DIRECTORY}/ (${(await readdir(path.join(root, BUNDLE_DIRECTORY), { recursive: true })).length} files)`);
}
