import type { Queryable } from '../../core/db';
import { sleep } from './fixtures';

/**
 * Waits until the transfer's saga has completed it. A dev server's loop runs
 * the saga from the feed, whose horizon another test file's open transaction
 * can hold back for seconds; a setup that gave up quietly would leave its specs
 * failing on a story cut short, so this throws, naming where the transfer stopped.
 */
export async function untilTransferCompleted(db: Queryable, transferId: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1', [`transfer-${transferId}`]);
    const last = rows[0]?.type;
    if (last === 'TransferCompleted') return;
    if (Date.now() > deadline) {
      const { rows: saga } = await db.query<{ phase: string }>("SELECT phase FROM saga_instances WHERE saga = 'transfer' AND saga_id = $1", [transferId]);
      throw new Error(`transfer ${transferId} did not complete in ${String(timeoutMs)} ms: its last event is ${last ?? 'none'}, its saga ${saga[0]?.phase ?? 'not started'}`);
    }
    await sleep(50);
  }
}
