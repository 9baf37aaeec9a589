import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, PartitionLeaseLostError, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { frozenAtStatement } from '../support/frozenAtStatement';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

const run = (processor: FeedProcessor<RecordedEvent>, holder: string) =>
  runFeedProcessor(processor, { db: db(), holder, leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 1, interruptionBackoff: { baseMs: 20, maxMs: 40 } });

describe('an external batch whose holder stalled while another took its partition over', () => {
  it('records nothing once it wakes: its fenced writes are refused, the checkpoint stays where the successor left it, and its run says it lost the partition', async () => {
    await db().query('CREATE TABLE parked_notes (holder text NOT NULL, event_id uuid NOT NULL)');
    const { source, events } = await newStreamSource(db(), [opened(), deposited(1), deposited(2)]);
    const woken = deferred();
    const stalled = deferred();
    let calls = 0;
    let refusal: unknown;
    const processor = onePartitionProcessor(
      'stalled_external',
      source,
      {
        mode: 'external',
        async handle(items, { fenced }) {
          calls += 1;
          const holder = calls === 1 ? 'stalled' : 'successor';
          if (holder === 'stalled') {
            stalled.resolve();
            await woken.promise;
          }
          // What a publisher records beside its effects: a message it parked.
          const record = fenced((tx) => tx.query('INSERT INTO parked_notes SELECT $1, unnest($2::uuid[])', [holder, items.map((item) => item.eventId)]));
          if (holder === 'stalled') refusal = await record.catch((error: unknown) => error);
          else await record;
          return { done: items.length };
        },
      },
      1,
    );

    const stalledRun = run(processor, 'stalled');
    await stalled.promise;
    await expireLeases(db(), processor.name);
    const successorRun = await run(processor, 'successor');
    const afterSuccessor = (await getProcessorStatus(db(), processor))[0];
    woken.resolve();
    const stalledReport = await stalledRun;

    expect(successorRun.items).toBe(events.length);
    expect(refusal).toBeInstanceOf(PartitionLeaseLostError);
    expect(stalledReport.items).toBe(0);
    expect({ stalled: stalledReport.leaseLost, successor: successorRun.leaseLost }).toEqual({ stalled: [0], successor: [] });
    const afterStalled = (await getProcessorStatus(db(), processor))[0];
    expect({ checkpoint: afterStalled?.checkpoint, processed: afterStalled?.itemsProcessed }).toEqual({ checkpoint: afterSuccessor?.checkpoint, processed: afterSuccessor?.itemsProcessed });
    const { rows } = await db().query<{ holder: string; n: number }>('SELECT holder, count(*)::int AS n FROM parked_notes GROUP BY holder');
    expect(rows).toEqual([{ holder: 'successor', n: events.length }]);
  });

  it('given a batch that keeps its deadline, stalled past its lease and its run\'s deadline while another took the partition over, says in its run that it lost the partition', async () => {
    const { source, events } = await newStreamSource(db(), [opened(), deposited(1), deposited(2)]);
    const stalled = deferred();
    const woken = deferred();
    let calls = 0;
    const processor = onePartitionProcessor(
      'stalled_at_deadline',
      source,
      {
        mode: 'external',
        async handle(items, { deadline }) {
          calls += 1;
          if (calls === 1) {
            stalled.resolve();
            await woken.promise;
          }
          // Past its deadline it starts nothing and says so: its checkpoint does not move, and no fenced write is tried.
          if (Date.now() >= deadline) return { done: 0 };
          return { done: items.length };
        },
      },
      1,
    );

    const runDeadline = Date.now() + 1_500;
    const stalledRun = runFeedProcessor(processor, { db: db(), holder: 'stalled', leaseTtlMs: 30_000, deadline: runDeadline, concurrency: 1 });
    await stalled.promise;
    await expireLeases(db(), processor.name);
    const successor = await run(processor, 'successor');
    await sleep(Math.max(0, runDeadline - Date.now()) + 100);
    woken.resolve();
    const report = await stalledRun;

    expect({ items: successor.items, failures: successor.failures.map((failure) => failure.error.name) }).toEqual({ items: events.length, failures: ['LeaseRanOutError'] });
    expect({ items: report.items, leaseLost: report.leaseLost }).toEqual({ items: 0, leaseLost: [0] });
  });

  it('given a holder frozen just before it reads its first page, past its lease, while another took the partition over and handled it, handles nothing of that page when it thaws', async () => {
    const streamId = uniqueStreamId();
    let thawed = false;
    const handledBy: string[] = [];
    const processor = onePartitionProcessor('frozen_before_read', eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (event.streamId === streamId ? streamId : null) }), {
      mode: 'external',
      handle(items) {
        handledBy.push(...items.map(() => (thawed ? 'frozen' : 'successor')));
        return Promise.resolve({ done: items.length });
      },
    });
    // Past the feed's earlier events: the first page read holds this spec's.
    await run(processor, 'first');
    const { events } = await createEventStore(db()).appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    await untilFeedHorizonPasses(db());
    // The feed's page read waits, as a process frozen (a Lambda's freeze) just before it would send it.
    const freezing = frozenAtStatement(db(), (_text, _params, options) => options?.name?.startsWith('read_feed') === true, 'before');

    const frozenRun = runFeedProcessor(processor, { db: freezing.db, holder: 'frozen', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 1 });
    await freezing.frozen;
    await expireLeases(db(), processor.name);
    const successor = await run(processor, 'successor');
    thawed = true;
    freezing.thaw();
    const report = await frozenRun;

    expect({ handledBy, successor: successor.items, frozen: report.items, leaseLost: report.leaseLost }).toEqual({
      handledBy: events.map(() => 'successor'),
      successor: events.length,
      frozen: 0,
      leaseLost: [0],
    });
  });
});

