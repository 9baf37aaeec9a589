import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createPgDb } from '../core/db';
import { createPublisher } from '../core/publishing';
import { fillFeed } from '../bench/scenarios/feedPublishing';
import pg from 'pg';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' }); await admin.connect();
const exists = (await admin.query("select 1 from pg_database where datname='scratchpub'")).rowCount;
if (!exists) { await admin.query('CREATE DATABASE scratchpub'); }
await admin.end();
const url = 'postgres://postgres@127.0.0.1:5432/scratchpub';
const db = createPgDb({ connectionString: url, max: 4 });
if (!exists) { const { migrate } = await import('../core/db'); await migrate(db); await fillFeed(url, { streams: 500, eventsPerStream: 100, batchSize: 1000, partitions: 4 }); }
for (let round = 0; round < 3; round++) {
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc); await jsm.streams.delete('PROF').catch(() => false);
  await db.query("DELETE FROM processor_partitions WHERE processor LIKE 'publisher:%'");
  await db.query("DELETE FROM partition_leases WHERE lease_group LIKE 'publisher:%'");
  const publisher = createPublisher({ db, connect: () => connect({ servers: 'nats://127.0.0.1:4222', noAsyncTraces: true }), stream: { name: 'PROF' }, subjectPrefix: 'prof', batchSize: 1000, partitions: 4 });
  const t = performance.now(); const cpu0 = process.cpuUsage();
  const report = await publisher.run({ deadline: Date.now() + 600000 });
  const el = performance.now() - t; const cpu = process.cpuUsage(cpu0);
  console.log(report.published, Math.round(report.published / el * 1000), 'msg/s', 'node cpu ms', Math.round((cpu.user + cpu.system) / 1000), 'wall', Math.round(el));
  await publisher.close(); await jsm.streams.delete('PROF').catch(() => false); await nc.close();
}
await db.close();
