import {
  checkRestore,
  correlationStory,
  eventDetails,
  feedPage,
  fixRestore,
  listSagas,
  listStreams,
  projectionsHealth,
  publishingHealth,
  rebuildProjectionAction,
  requeueAction,
  discardAction,
  rowsAhead,
  sagaInstances,
  streamEvents,
  type EventView,
} from '../../core/browser';
import { formatCheckpoint } from '../../core/eventstore';
import { getProjectionStatus, ProjectionSupersededError, ProjectorRunError, type GenerationProgress, type PartitionStatus, type ProjectorRun } from '../../core/projections';
import type { ServiceRuntime } from '../../core/service';
import { flag, limitFlag, UsageError, type CliArguments } from './cliArguments';
import { output, paged, progressBar, table, tree } from './cliOutput';

export interface CliContext {
  runtime: ServiceRuntime;
  args: CliArguments;
  json: boolean;
}

const query = (args: CliArguments, ...names: Array<'type' | 'prefix' | 'limit' | 'status' | 'from' | 'to' | 'cursor' | 'source'>) => Object.fromEntries(names.flatMap((name) => (args.flags.has(name) ? [[name, flag(args, name)]] : [])));
const argument = (args: CliArguments, index: number, what: string) => {
  const value = args.words[index];
  if (value === undefined) throw new UsageError(`${args.words.slice(0, index).join(' ')} needs ${what}`);
  return value;
};
/** A parked message's state in the list: a requeued one with nothing left to send needs a person, as a parked one does. */
const parkedState = (message: { requeuedAt: Date | null; onItsWay: boolean }) => (message.requeuedAt === null ? 'parked' : message.onItsWay ? 'requeued' : 'requeued, nothing to send');
const eventLine = (event: EventView) => [event.globalPosition, `${event.streamId}@${String(event.version)}`, event.type, event.recordedAt];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a command that follows something (`feed tail -f`, a rebuild) pauses when a look found nothing new. */
const NOTHING_NEW_PAUSE_MS = 500;

async function feedTail({ runtime, args, json }: CliContext): Promise<void> {
  const limit = limitFlag(args, 20);
  const type = flag(args, 'type') ?? null;
  // Where the last `limit` events (of that type) begin: the feed is read from just before.
  const { rows } = await runtime.db.query<{ tx_id: string; global_position: string }>(
    'SELECT tx_id, global_position FROM events WHERE $2::text IS NULL OR type = $2 ORDER BY tx_id DESC, global_position DESC OFFSET $1 LIMIT 1',
    [limit, type],
  );
  let after = rows[0] ? formatCheckpoint({ txId: BigInt(rows[0].tx_id), position: BigInt(rows[0].global_position) }) : undefined;
  for (;;) {
    const page = await feedPage(runtime.browser, { ...query(args, 'type'), limit: '200', ...(after ? { after } : {}) });
    if (page.events.length > 0) output(json, page.events, () => table(page.events.map(eventLine)));
    after = page.nextCursor;
    // A filtered page walks a window of the feed: the tail goes on to the head, page by page.
    if (page.caughtUp) {
      if (!args.flags.has('follow')) return;
      await sleep(NOTHING_NEW_PAUSE_MS);
    }
  }
}

/**
 * Why a run of the projector here applied nothing to a build that does not
 * serve yet: a partition waits out a failure's backoff (which never ends for an
 * event this code cannot upcast), or the partitions left are leased by another
 * projector (the deployed one, `npm run dev`), which builds them itself, or a
 * partition's backoff ran out since the run (it is tried again next).
 */
function waitingFor(partitions: readonly PartitionStatus[], holder: string): string {
  // By the database's clock: a backoff run out leaves nextAttemptAt behind, in the past.
  const backingOff = partitions.find((partition) => partition.waitingOutBackoff);
  if (backingOff?.nextAttemptAt) {
    return `partition ${String(backingOff.partition)} retries at ${backingOff.nextAttemptAt.toISOString()} after: ${backingOff.lastError ?? 'unknown error'}`;
  }
  if (partitions.some((partition) => partition.heldBy !== null && partition.heldBy !== holder)) return 'waiting for partitions another projector holds';
  const failedBefore = partitions.find((partition) => partition.lastError !== null);
  if (failedBefore) return `partition ${String(failedBefore.partition)} retries after: ${failedBefore.lastError ?? ''}`;
  return 'nothing to apply yet';
}

/** What replaced a retired build: the newest generation there is, if any. */
function replacedBy(generations: readonly GenerationProgress[]): string {
  const newest = generations.at(-1);
  return newest ? `: a newer build (g${String(newest.generation)}, v${String(newest.version)}) replaced it` : '';
}

/**
 * The run of a rebuild's turn in which only other projections failed, each
 * superseded in the code here (its newer version serves): the rebuild goes on.
 * Any other failure ends it.
 */
function runPastSupersededOthers(error: unknown, name: string): ProjectorRun {
  const othersSuperseded = (errors: unknown[]) => errors.every((cause) => cause instanceof ProjectionSupersededError && cause.projection !== name);
  if (error instanceof ProjectorRunError && othersSuperseded(error.errors as unknown[])) return error.run;
  throw error;
}

/** Starts a new generation and runs the projector here, with a progress bar, until it serves. */
async function rebuild({ runtime, args, json }: CliContext): Promise<void> {
  const name = argument(args, 2, 'a projection name');
  const { generation } = await rebuildProjectionAction(runtime.browser, name);
  const label = `${name} g${String(generation.generation)}`;
  // Each progress line overwrites the last: padded to the longest so far, a shorter one leaves nothing of it behind.
  let widest = 0;
  for (;;) {
    const run = await runtime.projector.runUntilCaughtUp({ deadline: Date.now() + 2_000 }).catch((error: unknown) => runPastSupersededOthers(error, name));
    const [status] = await getProjectionStatus(runtime.db, name);
    const building = status?.generations.find((candidate) => candidate.generation === generation.generation);
    // Retired under it: a newer version deployed meanwhile started a build of its own.
    if (!building) throw new Error(`${label} was retired before it went live${replacedBy(status?.generations ?? [])}`);
    const { partitions } = building;
    const failed = partitions.find((partition) => partition.state === 'failed');
    if (failed) throw new Error(`${label} stopped on a failure (resume it once fixed): ${failed.lastError ?? 'unknown error'}`);
    const applied = partitions.reduce((sum, partition) => sum + partition.eventsApplied, 0);
    const lag = partitions.reduce((sum, partition) => sum + partition.lagEvents, 0);
    const live = status?.activeGeneration === generation.generation;
    const waiting = !live && run.eventsApplied === 0;
    if (!json) {
      const line = `${label} ${progressBar(applied, applied + lag)} ${String(applied)} events${waiting ? `, ${waitingFor(partitions, runtime.projector.holder)}` : ''}`;
      widest = Math.max(widest, line.length);
      process.stdout.write(`\r${line.padEnd(widest)}`);
    }
    if (live) {
      output(json, { projection: name, generation: generation.generation, live: true, eventsApplied: applied }, () => `\n${label} is live`);
      return;
    }
    // Running again at once would find the same partitions leased or backing off, and only repeat the status's lag walks.
    if (waiting) await sleep(NOTHING_NEW_PAUSE_MS);
  }
}

async function restore({ runtime, args, json }: CliContext): Promise<void> {
  const check = args.flags.has('fix') ? await fixRestore(runtime.db) : await checkRestore(runtime.db);
  output(json, check, () =>
    rowsAhead(check) === 0
      ? `ok: no event lies above this cluster's transaction counter (next ${check.nextTxId}, highest stored ${check.highestTxId})`
      : [
          `${String(check.eventsAhead)} events, ${String(check.outboxAhead)} outbox rows and ${String(check.requeuesAhead)} requeues of parked messages carry transaction ids at or above this cluster's next one (${check.nextTxId}; highest event ${check.highestTxId}).`,
          'They were written in another cluster (a dump/restore or a logical copy): feed readers cannot see them until the counter passes them, and new events would be read before them.',
          'Run `npm run es -- restore-check --fix` with nothing appending: it renumbers them in their order, moves the checkpoints with them, has the requeues count as seen and advances the counter.',
        ].join('\n'),
  );
  if (!args.flags.has('fix') && rowsAhead(check) > 0) process.exitCode = 2;
}

type Command = (context: CliContext) => Promise<void>;

/** Every command but migrate (which needs no runtime), by its words. */
export const COMMANDS: Record<string, Command> = {
  'streams ls': async ({ runtime, args, json }) => {
    const page = await listStreams(runtime.browser, query(args, 'type', 'prefix', 'limit', 'cursor'));
    output(json, page, () => paged(table(page.streams.map((stream) => [stream.streamId, stream.streamType, String(stream.version), stream.lastWriteAt])), page.nextCursor));
  },
  'streams show': async ({ runtime, args, json }) => {
    const page = await streamEvents(runtime.browser, argument(args, 2, 'a stream id'), query(args, 'from', 'to', 'limit', 'cursor'));
    output(json, page, () => paged(table(page.events.map(eventLine)), page.nextCursor));
  },
  'events show': async ({ runtime, args, json }) => {
    const details = await eventDetails(runtime.browser, argument(args, 2, 'an event id'), { original: 'true' });
    output(json, details, () => JSON.stringify(details, null, 2));
  },
  'feed tail': feedTail,
  correlation: async ({ runtime, args, json }) => {
    const story = await correlationStory(runtime.browser, argument(args, 1, 'a correlation id'));
    output(json, story, () => `${String(story.commands.length)} commands, ${String(story.events.length)} events\n${tree(story.tree)}`);
  },
  'projections status': async ({ runtime, json }) => {
    const { projections } = await projectionsHealth(runtime.browser);
    output(json, projections, () =>
      table(projections.flatMap((projection) => projection.generations.map((generation) => [projection.name, `g${String(generation.generation)}`, generation.status, `lag ${String(generation.partitions.reduce((sum, partition) => sum + partition.lagEvents, 0))}`]))),
    );
  },
  'projections rebuild': rebuild,
  'publishing status': async ({ runtime, json }) => {
    const health = await publishingHealth(runtime.browser, { limit: '1' });
    output(json, health, () => `events backlog ${String(health.events.backlog)} (oldest ${health.events.oldestAgeSeconds.toFixed(1)} s), outbox backlog ${String(health.outbox.backlog)}, parked ${String(health.parkedCount)}, requeued ${String(health.requeuedCount)}`);
  },
  'publishing parked': async ({ runtime, args, json }) => {
    const { parked, nextCursor } = await publishingHealth(runtime.browser, query(args, 'limit', 'cursor'));
    output(json, { parked, nextCursor }, () => paged(table(parked.map((message) => [message.messageId, message.source, message.subject, message.error, parkedState(message)])), nextCursor));
  },
  'publishing requeue': async ({ runtime, args, json }) => {
    const result = await requeueAction(runtime.browser, argument(args, 2, 'a message id'), query(args, 'source'));
    output(json, result, () => `${result.messageId}${result.source ? ` (${result.source})` : ''} requeued: the next publisher run sends it`);
  },
  'publishing discard': async ({ runtime, args, json }) => {
    const result = await discardAction(runtime.browser, argument(args, 2, 'a message id'), query(args, 'source'));
    output(json, result, () => `${result.messageId}${result.source ? ` (${result.source})` : ''} discarded: it is never sent`);
  },
  'sagas ls': async ({ runtime, args, json }) => {
    const page = await listSagas(runtime.browser, query(args, 'status', 'limit', 'cursor'));
    output(json, page, () => paged(table(page.sagas.map((saga) => [saga.saga, saga.sagaId, saga.phase, saga.updatedAt])), page.nextCursor));
  },
  'sagas show': async ({ runtime, args, json }) => {
    const found = await sagaInstances(runtime.browser, argument(args, 2, 'a saga instance id'));
    output(json, found, () => JSON.stringify(found, null, 2));
  },
  'restore-check': restore,
};
