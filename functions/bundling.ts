/**
 * How every function is bundled, shared by the SST app and `npm run
 * build:functions`: the same esbuild options SST applies (ESM, minified, for
 * Node 22), the AWS SDK v3 left to the Lambda runtime, and the database
 * drivers the deployment does not use left out.
 */

/** Packages a function never loads with this driver (they are imported only when configured). */
export function unusedDriverPackages(driver: 'pg' | 'neon'): string[] {
  return driver === 'pg' ? ['@electric-sql/pglite', '@neondatabase/serverless', 'ws'] : ['@electric-sql/pglite'];
}

/** What esbuild leaves out of every bundle. */
export function bundleExternals(driver: 'pg' | 'neon'): string[] {
  return ['@aws-sdk/*', ...unusedDriverPackages(driver)];
}

/** The esbuild plugins file, relative to the repository's root (SST resolves it from sst.config.ts). */
export const ESBUILD_PLUGINS = 'functions/esbuildPlugins.mjs';
