/** What one turn of a slot did: worked (look again), found nothing to take, or must stop. */
export type SlotTurn = 'worked' | 'found_nothing' | 'stop';

/** What woke a waiting slot: a sibling's turn that found work, a sibling leaving, or its own turn to look again. */
type Wake = 'worked' | 'left' | 'timer';

/**
 * Runs `concurrency` slots side by side, each taking turns until it stops, so
 * a slow turn holds up only its own slot. A slot that finds nothing while a
 * sibling is at work waits to look again: every waiting slot looks once a
 * turn finds work (it says so with `found`, before doing the work) or ends
 * having worked, and one waiting slot at a time looks on its own every
 * `lookAgainAfterMs`, since what they look for (a partition another instance
 * held, say) may be free by then and a sibling's turn may last long. The
 * slots end once the last look of each found nothing with no sibling at
 * work, or told it to stop. A turn that throws ends the run: the siblings
 * finish the turn they are in and take no other, and the first error is
 * thrown once all have settled.
 */
export async function runInSlots(concurrency: number, lookAgainAfterMs: number, turn: (found: () => void) => Promise<SlotTurn>): Promise<void> {
  let atWork = 0;
  const thrown: unknown[] = [];
  const anyThrew = () => thrown.length > 0;
  // The slots waiting to look again, by what wakes each, and why.
  const waiting = new Set<(why: Wake) => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wakeAll = (why: Wake) => {
    for (const wake of waiting) wake(why);
    waiting.clear();
    clearTimeout(timer);
    timer = undefined;
  };
  // The timer wakes one waiting slot at a time: what its look finds wakes the rest. Woken all at once, a run of many slots would make a look per idle
  // slot every lookAgainAfterMs.
  const wakeOneLater = () => {
    if (timer !== undefined || waiting.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      const [first] = waiting;
      if (first) {
        waiting.delete(first);
        first('timer');
      }
      wakeOneLater();
    }, lookAgainAfterMs);
  };
  const woken = () =>
    new Promise<Wake>((resolve) => {
      waiting.add(resolve);
      wakeOneLater();
    });
  const slot = async (): Promise<void> => {
    try {
      while (!anyThrew()) {
        atWork += 1;
        let outcome: SlotTurn;
        try {
          outcome = await turn(() => {
            wakeAll('worked');
          });
        } finally {
          atWork -= 1;
        }
        if (outcome === 'worked') {
          wakeAll('worked');
          continue;
        }
        if (outcome === 'stop' || atWork === 0) return;
        // A sibling leaving changes nothing to look for: it only ends the wait of the
        // last ones, once no slot is at work (each waking the rest to look again made
        // the looks at a run's end grow with the square of the slots).
        let why = await woken();
        while (why === 'left' && atWork > 0 && !anyThrew()) why = await woken();
        if (why === 'left') return;
      }
    } catch (error) {
      thrown.push(error);
    } finally {
      wakeAll('left');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  if (anyThrew()) throw thrown[0];
}
