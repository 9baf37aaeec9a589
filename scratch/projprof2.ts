import { createPgDb } from '../core/db';
import { defineAccountSummaries } from '../core/bank';
import { createProjector, registerProjection } from '../core/projections';
const db = createPgDb({ connectionString: 'postgres://postgres@127.0.0.1:5432/scratchfeed', max: 1 });
for (let round = 1; round <= 6; round++) {
  const projection = defineAccountSummaries({ name: `prof_${Date.now() % 100000}_${round}`, partitions: 1, batchSize: 500 });
  await registerProjection(db, projection);
  const t = performance.now(); const cpu0 = process.cpuUsage();
  const run = await createProjector({ db, projections: [projection] }).runUntilCaughtUp();
  const el = performance.now() - t; const cpu = process.cpuUsage(cpu0);
  console.log(run.eventsApplied, Math.round(run.eventsApplied / el * 1000), 'ev/s', 'node cpu ms', Math.round((cpu.user + cpu.system) / 1000), 'wall ms', Math.round(el));
}
await db.close();
