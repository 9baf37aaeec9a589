import { startBackgroundLoop, type BackgroundLoop } from '../core/background';
import { DataDirLockedError } from '../core/db';
import { startProjectorLoop } from '../core/projections';
import { getApp } from '../functions/app';
import { httpRoutes } from '../functions/http/httpRoutes';
import { startLocalServer } from '../functions/local';
import { publisherFor } from '../functions/publisher';

// With no DATABASE_URL, run on the embedded PGlite, keeping data in .data/pglite between runs.
if (!process.env.DATABASE_URL) process.env.DB_DRIVER ??= 'pglite';
process.env.POWERTOOLS_DEV ??= 'true';

const port = Number(process.env.PORT ?? 3000);
const app = await getApp().catch((error: unknown) => {
  // Another dev server has the embedded database open: one line says which, rather than a stack trace.
  if (!(error instanceof DataDirLockedError)) throw error;
  console.error(error.message);
  process.exit(1);
});
const server = await startLocalServer({ port, routes: httpRoutes });
// The projector runs continuously here, woken by every commit, instead of on a schedule.
const projectorLoop = startProjectorLoop(app.projector, {
  onError: (error: unknown) => {
    console.error('projector run failed', error);
  },
});
// With NATS_URL, the publisher runs the same way; without it, events wait to be published.
const publisherLoop: BackgroundLoop | undefined = app.publishing.NATS_URL
  ? startBackgroundLoop(() => publisherFor(app).run({ deadline: Date.now() + 10_000 }), {
      onError: (error: unknown) => {
        console.error('publisher run failed', error);
      },
    })
  : undefined;
app.nudges.onNudge(() => {
  projectorLoop.wake();
  publisherLoop?.wake();
});
const driver = process.env.DB_DRIVER ?? 'pg';
const database = driver === 'pglite' ? `embedded PGlite in ${process.env.PGLITE_DATA_DIR ?? '.data/pglite'}` : 'DATABASE_URL';
console.log(`listening on ${server.url} (pid ${process.pid}, database: ${database})`);
console.log(publisherLoop ? `publishing to ${app.publishing.NATS_URL ?? ''}` : 'not publishing to NATS (set NATS_URL to publish)');

const stop = async () => {
  await server.close();
  await projectorLoop.stop();
  await publisherLoop?.stop();
  if (app.publishing.NATS_URL) await publisherFor(app).close();
  await app.db.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
