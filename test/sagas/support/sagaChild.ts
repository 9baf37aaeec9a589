// A saga worker in a process of its own, for the fault specs to kill for real:
//   SAGA_DIE=after-commit   dies (SIGKILL) right after a batch commits, before its steps are dispatched;
//   SAGA_DIE=on-command:N   dies as its Nth command starts, the steps before it done and recorded;
//   SAGA_DIE=never          runs the processor and the sweeper in a loop until killed from outside.
// It prints "ready" once its runtime is built.
import { createBankService } from '../../../core/bank';
import { createInProcessDispatcher, type CommandBus } from '../../../core/commands';
import { createPgDb } from '../../../core/db';
import { runFeedProcessor } from '../../../core/processing';
import { sagaProcessor } from '../../../core/sagas';
import { createServiceRuntime } from '../../../core/service';

const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: the process was killed');
};

const mode = process.env.SAGA_DIE ?? 'never';
const db = createPgDb({ connectionString: process.env.DATABASE_URL ?? '', max: 4 });
const service = createBankService();
const runtime = createServiceRuntime(service, {
  db,
  dispatcher: (run) => createInProcessDispatcher(run),
  sagas: { stepClaimMs: 500, abandonedStepMs: 0 },
});

if (mode.startsWith('on-command:')) {
  const dieAt = Number(mode.slice('on-command:'.length));
  let commands = 0;
  const bus: CommandBus = runtime.bus;
  const execute = bus.execute.bind(bus);
  Object.assign(bus, {
    execute: (request: Parameters<CommandBus['execute']>[0]) => {
      commands += 1;
      return commands >= dieAt ? die() : execute(request);
    },
  });
}

process.stdout.write('ready\n');
if (mode === 'after-commit') {
  const [saga] = service.sagas ?? [];
  if (!saga) throw new Error('the bank has a transfer saga');
  const processor = sagaProcessor(saga, { upcaster: runtime.store.upcaster, clock: () => new Date(), dispatch: () => Promise.resolve(die()), claimMs: 500 });
  await runFeedProcessor(processor, { db, holder: `child-${String(process.pid)}`, deadline: Date.now() + 30_000, leaseTtlMs: 5_000, concurrency: saga.partitions });
} else {
  for (;;) {
    await runtime.sagas.run({ holder: `child-${String(process.pid)}`, deadline: Date.now() + 5_000, leaseTtlMs: 2_000 });
    await runtime.sagas.sweep();
  }
}
