// A projector instance run as its own process
// (`tsx stallingProjector.ts <databaseUrl> [name] [leaseTtlMs] [holder] [maxAttempts] [baseDelayMs] [partitions]`),
// so a test can kill it mid-batch as a Lambda dies: it prints "in-batch" once it
// has leased the partition and started applying, then never finishes the batch.
import { createPgDb } from '../../../core/db';
import { createProjector } from '../../../core/projections';
import { recordingProjection } from './recordingProjection';

const [databaseUrl, name = 'killed', ttl = '400', holder, maxAttempts, baseDelayMs, partitions = '1'] = process.argv.slice(2);
if (!databaseUrl) throw new Error('usage: stallingProjector.ts <databaseUrl> [name] [leaseTtlMs] [holder] [maxAttempts] [baseDelayMs] [partitions]');

const projection = recordingProjection({
  name,
  batchSize: 20,
  partitions: Number(partitions),
  beforeApply: () => {
    process.stdout.write('in-batch\n');
    return new Promise<void>(() => undefined);
  },
});
await createProjector({
  db: createPgDb({ connectionString: databaseUrl, max: 1 }),
  projections: [projection],
  leaseTtlMs: Number(ttl),
  ...(holder ? { holder } : {}),
  ...(maxAttempts ? { failurePolicy: { maxAttempts: Number(maxAttempts), baseDelayMs: Number(baseDelayMs ?? 1_000), maxDelayMs: 60_000 } } : {}),
}).runUntilCaughtUp();
process.stdout.write('run-ended\n');
