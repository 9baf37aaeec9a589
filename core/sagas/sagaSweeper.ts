import type { Db } from '../db';
import type { Saga } from './defineSaga';
import { handleInput } from './handleInput';
import type { IgnoredInput } from './sagaProcessor';
import type { Dispatch } from './stepDispatcher';
import { DROP_TIMEOUT_SQL, NEXT_DUE_TIMEOUT_SQL, STALE_STEPS_SQL } from './stepQueries';

export interface SweepOptions {
  db: Db;
  sagas: readonly Saga[];
  clock: () => Date;
  dispatch: Dispatch;
  onIgnored?: (ignored: IgnoredInput) => void;
  /** A step never tried this long after it was decided is taken as abandoned and dispatched here. */
  abandonedAfterMs?: number;
}

export interface SweepReport {
  fired: number;
  /** Due timeouts whose instance had moved on: removed, nothing done. */
  ignored: number;
  redriven: number;
}

interface DueRow {
  saga: string;
  saga_id: string;
  timeout_type: string;
  data: object;
  due_at: Date;
}

/** Fires one due timeout in its own transaction; false once none is due (or every due one is busy). */
async function fireNext(options: SweepOptions, byName: ReadonlyMap<string, Saga>, report: SweepReport): Promise<boolean> {
  const now = options.clock();
  const fired = await options.db.transaction(async (tx) => {
    const { rows } = await tx.query<DueRow>(NEXT_DUE_TIMEOUT_SQL, [now, [...byName.keys()]]);
    const due = rows[0];
    const saga = due && byName.get(due.saga);
    if (!due || !saga) return undefined;
    const input = { kind: 'timeout' as const, id: `timeout:${due.timeout_type}:${due.due_at.toISOString()}`, timeout: { type: due.timeout_type, data: due.data }, dueAt: due.due_at };
    const result = await handleInput(tx, saga, due.saga_id, input, now);
    // A timeout the instance did not take is spent all the same: left in place it would be due forever.
    if (result.kind === 'ignored') await tx.query(DROP_TIMEOUT_SQL, [due.saga, due.saga_id, due.timeout_type, due.due_at]);
    return { saga, sagaId: due.saga_id, result, input };
  });
  if (!fired) return false;
  if (fired.result.kind === 'applied') {
    report.fired += 1;
    if (fired.result.newSteps.length > 0) await options.dispatch(fired.saga, [{ sagaId: fired.sagaId }]);
  } else {
    report.ignored += 1;
    if (fired.result.reason !== 'duplicate_input') {
      options.onIgnored?.({ saga: fired.saga.name, sagaId: fired.sagaId, reason: fired.result.reason, input: { kind: 'timeout', id: fired.input.id, type: fired.input.timeout.type } });
    }
  }
  return true;
}

/**
 * The saga timeout sweeper's run: fires every due timeout (each with its
 * instance locked, skipping instances another sweeper or processor holds),
 * then dispatches steps nobody is dispatching. A timeout whose instance has
 * completed or moved past it changes nothing.
 */
export async function sweepSagas(options: SweepOptions, limits: { maxTimeouts?: number; maxInstances?: number } = {}): Promise<SweepReport> {
  const byName = new Map(options.sagas.map((saga) => [saga.name, saga]));
  const report: SweepReport = { fired: 0, ignored: 0, redriven: 0 };
  const maxTimeouts = limits.maxTimeouts ?? 1_000;
  while (report.fired + report.ignored < maxTimeouts && (await fireNext(options, byName, report)));
  const { rows } = await options.db.query<{ saga: string; saga_id: string }>(STALE_STEPS_SQL, [
    options.abandonedAfterMs ?? 10_000,
    limits.maxInstances ?? 100,
    [...byName.keys()],
  ]);
  for (const row of rows) {
    const saga = byName.get(row.saga);
    if (!saga) continue;
    await options.dispatch(saga, [{ sagaId: row.saga_id }]);
    report.redriven += 1;
  }
  return report;
}
