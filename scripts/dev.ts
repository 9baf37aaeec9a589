import { DataDirLockedError } from '../core/db';
import { configureLogging } from '../core/observability';
import { natsAddressToShow } from '../core/publishing';
import { readableLog, startDevServer } from '../functions/local';
import { service } from '../functions/service';

// With no DATABASE_URL, run on the embedded PGlite, keeping data in .data/pglite between runs.
if (!process.env.DATABASE_URL) process.env.DB_DRIVER ??= 'pglite';
process.env.POWERTOOLS_DEV ??= 'true';
// Lines for a person: time, level, message and the ids of the request, the batch or the saga step.
configureLogging(readableLog());

const port = Number(process.env.PORT ?? 3000);
const bearerToken = process.env.API_TOKEN || undefined;
const dev = await startDevServer(service, { port, ...(bearerToken ? { bearerToken } : {}) }).catch((error: unknown) => {
  // Another dev server has the embedded database open: one line says which, rather than a stack trace.
  if (!(error instanceof DataDirLockedError)) throw error;
  console.error(error.message);
  process.exit(1);
});
const driver = process.env.DB_DRIVER ?? 'pg';
const database = driver === 'pglite' ? `embedded PGlite in ${process.env.PGLITE_DATA_DIR ?? '.data/pglite'}` : 'DATABASE_URL';
console.log(`listening on ${dev.url} (pid ${process.pid}, service ${service.name}, database: ${database})`);
console.log(bearerToken ? 'auth on: send Authorization: Bearer $API_TOKEN' : 'auth off (set API_TOKEN to require a bearer token)');
console.log(dev.publishing ? `publishing to ${natsAddressToShow(dev.runtime.publishing.NATS_URL ?? '')}` : 'not publishing to NATS (set NATS_URL to publish)');

// npm passes a Ctrl-C or a kill on to this process as well: the repeats are
// ignored, rather than ending it by default before it has let go of its data directory.
// (It runs under `node --import tsx`, not the tsx CLI, whose signal relay kills a
// child that does not acknowledge a signal within 30 ms: a loaded machine's case.)
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= dev.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('stopping failed', error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
