/** What one turn of a slot did: worked (look again), found nothing to take, or must stop. */
export type SlotTurn = 'worked' | 'found_nothing' | 'stop';

/** What woke a waiting slot: a sibling's look that found work, a sibling leaving, or its own turn to look again. */
type Wake = 'found' | 'left' | 'timer';

/** How many waiting slots a look that found work wakes to look too. */
const WOKEN_BY_A_FIND = 4;

/**
 * Runs `concurrency` slots side by side, each taking turns until it stops, so
 * a slow turn holds up only its own slot. A slot that finds nothing while a
 * sibling is at work waits to look again: a turn that finds work (it says so
 * with `found`, before doing the work) wakes a few waiting slots to look, and
 * one waiting slot at a time looks on its own every `lookAgainAfterMs`, since
 * what they look for (a partition another instance held, say) may be free by
 * then and a sibling's turn may last long. A slot whose turn worked looks
 * again itself. The
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
  // A slot leaving wakes every waiting one: the last of them end their wait.
  const wakeAllAsLeft = () => {
    for (const wake of waiting) wake('left');
    waiting.clear();
    clearTimeout(timer);
    timer = undefined;
  };
  // A look that found work wakes a few waiting slots: each that finds work too wakes a few
  // more, so partitions given back together are all taken within a few rounds of looks,
  // and one given back alone costs a few looks. The timer wakes one at a time. Woken all
  // at once, by each look that found work or each turn that worked, a run of many slots
  // made a look per idle slot each time; a slot leaving wakes them all, to end the last waits.
  const wakeSome = (count: number) => {
    for (const wake of [...waiting].slice(0, count)) {
      waiting.delete(wake);
      wake('found');
    }
  };
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
            wakeSome(WOKEN_BY_A_FIND);
          });
        } finally {
          atWork -= 1;
        }
        // The slot that worked looks next; what that look finds wakes the rest.
        if (outcome === 'worked') continue;
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
      wakeAllAsLeft();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  if (anyThrew()) throw thrown[0];
}
