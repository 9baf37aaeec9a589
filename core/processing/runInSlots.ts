/** What one turn of a slot did: worked (look again), found nothing to take, or must stop. */
export type SlotTurn = 'worked' | 'found_nothing' | 'stop';

/**
 * Runs `concurrency` slots side by side, each taking turns until it stops, so
 * a slow turn holds up only its own slot. A slot that finds nothing while a
 * sibling is at work looks again once a sibling's turn ends, or after
 * `lookAgainAfterMs` if that comes first: what it looked for (a partition
 * another instance held, say) may be free by then, and a sibling's turn may
 * last long.
 * The slots end once the last look of each found nothing with no sibling at
 * work, or told it to stop. A turn that throws ends the run: the siblings
 * finish the turn they are in and take no other, and the first error is
 * thrown once all have settled.
 */
export async function runInSlots(concurrency: number, lookAgainAfterMs: number, turn: () => Promise<SlotTurn>): Promise<void> {
  let atWork = 0;
  const thrown: unknown[] = [];
  const anyThrew = () => thrown.length > 0;
  let wake: () => void = () => undefined;
  let aTurnEnded = new Promise<void>((resolve) => (wake = resolve));
  const turnEnded = () => {
    const waiting = wake;
    aTurnEnded = new Promise<void>((resolve) => (wake = resolve));
    waiting();
  };
  // Only a turn that worked, or a slot leaving, wakes the waiting ones: two idle slots
  // waking each other would look again and again while a long turn goes on.
  const aTurnEndedOrLater = async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = new Promise<void>((resolve) => (timer = setTimeout(resolve, lookAgainAfterMs)));
    try {
      await Promise.race([aTurnEnded, later]);
    } finally {
      clearTimeout(timer);
    }
  };
  const slot = async (): Promise<void> => {
    try {
      while (!anyThrew()) {
        atWork += 1;
        let outcome: SlotTurn;
        try {
          outcome = await turn();
        } finally {
          atWork -= 1;
        }
        if (outcome === 'worked') {
          turnEnded();
          continue;
        }
        if (outcome === 'stop' || atWork === 0) return;
        await aTurnEndedOrLater();
      }
    } catch (error) {
      thrown.push(error);
    } finally {
      turnEnded();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  if (anyThrew()) throw thrown[0];
}
