import { DeletionStoppedError } from '../db';
import { describeError } from '../errors';
import { log, metrics } from '../observability';
import { isDeadline, registerProcessor, runFeedProcessor, type ProcessorRunOptions } from '../processing';
import { capturedSubjects } from './capturedSubjects';
import { deleteExpiredOutboxRows, OUTBOX_CLEANUP_MAX_MS, type OutboxCleanupCursor } from './outboxCleanup';
import { publisherConnection } from './publisherConnection';
import { PublisherConfigurationError } from './PublisherConfigurationError';
import { publisherSettings, type PublisherOptions, type PublisherSettings } from './publisherOptions';
import { EVENTS_PUBLISHER, eventsPublisher, OUTBOX_PUBLISHER, outboxPublisher } from './publisherProcessors';
import { RunTally, type PublisherRunReport } from './publisherRunReport';
import type { PublishingSession } from './publishBatch';
import { forgetPublishedAheadPassed } from './publishedAhead';
import { anyRequeuedWaiting, publishRequeued } from './requeuedMessages';
import { streamRoomForRun } from './streamRoomForRun';

export interface Publisher {
  /**
   * Publishes requeued parked messages, then the outbox's integration messages
   * and stored events from the feed side by side, until nothing is left or the
   * deadline passes; then deletes integration messages past their retention,
   * for at most OUTBOX_CLEANUP_MAX_MS (also after a run that used its whole time),
   * going on from where this publisher's last cleanup stopped.
   */
  run(options?: { deadline?: number }): Promise<PublisherRunReport>;
  /** Drains and closes the NATS connection. */
  close(): Promise<void>;
}

/** The NATS publisher: two feed processors (the events feed and the outbox) on one connection. */
export function createPublisher(options: PublisherOptions): Publisher {
  const settings = publisherSettings(options);
  const connection = publisherConnection(settings);
  // Kept between runs: old rows a cleanup must keep, more than one run gets past, hold up each next run no longer.
  const cleanup: CleanupProgress = { resumeAfter: null };
  return {
    run: async (runOptions = {}) => {
      if (typeof runOptions !== 'object' || (runOptions as unknown) === null) throw new PublisherConfigurationError('run options must be an object: { deadline }');
      try {
        return await runPublisher(settings, connection, cleanup, runOptions.deadline ?? Date.now() + 60_000);
      } finally {
        await connection.endRun();
      }
    },
    close: () => connection.close(),
  };
}

interface CleanupProgress {
  resumeAfter: OutboxCleanupCursor | null;
}

async function runPublisher(
  settings: PublisherSettings,
  connection: ReturnType<typeof publisherConnection>,
  cleanup: CleanupProgress,
  deadline: number,
): Promise<PublisherRunReport> {
  // Checked before the requeue turn sends anything, not only by the processors' runs after it.
  if (!isDeadline(deadline)) throw new PublisherConfigurationError(`deadline must be a time in epoch ms (or Infinity), not ${deadline}`);
  const { db } = settings;
  const tally = new RunTally();
  const subjects = capturedSubjects((subject) => connection.captured(subject));
  const session: PublishingSession = {
    db,
    publishing: () => connection.publishing(),
    captured: subjects.captured,
    capturedNow: subjects.capturedNow,
    largerThanStream: streamRoomForRun((subject) => connection.maxBytes(subject)),
    timeoutMs: settings.publishTimeoutMs,
    tally,
  };
  connection.beginRun();
  const processors = [outboxPublisher(session, settings), eventsPublisher(session, settings)] as const;
  // An instance deployed with another partition count is refused here, before
  // its requeue turn sends anything and takes it off the parked list.
  for (const processor of processors) await registerProcessor(db, processor.name, processor.partitions);
  // A turn that fails (its page read timed out, say) is thrown after the cleanup, as a
  // failed source's error is: thrown at once, it left every key's new messages unsent and
  // the outbox uncleaned, on every run for as long as it failed. Skipping the turn is what
  // a run does when another instance has it.
  const requeueTurn = await publishRequeued(session, { holder: settings.holder, leaseTtlMs: settings.leaseTtlMs, deadline }).then(
    (done) => ({ ...done, failure: undefined }),
    (error: unknown) => ({ sent: 0, leaseLost: false, failure: { error } }),
  );
  tally.report.requeued = requeueTurn.sent;
  if (requeueTurn.leaseLost) tally.report.leaseLost += 1;
  if (requeueTurn.failure) tally.noteError(requeueTurn.failure.error);
  const runOptions: ProcessorRunOptions = {
    db,
    holder: settings.holder,
    leaseTtlMs: settings.leaseTtlMs,
    deadline,
    concurrency: settings.partitions,
    interruptionBackoff: settings.retryBackoff,
    // The hook's answer goes back to the engine, which ignores an async hook's rejection
    // rather than leave it unhandled (reportQuietly).
    onInterrupted: (interruption) => {
      tally.noteError(interruption.error);
      return settings.onRetry?.(interruption);
    },
    onFailure: (failure) => {
      tally.noteError(failure.error);
    },
  };
  // Side by side: a key that NATS keeps refusing (retried until the deadline) holds
  // back its own source's partition, never the other source.
  const settled = await Promise.allSettled([runFeedProcessor(processors[0], runOptions), runFeedProcessor(processors[1], runOptions)]);
  // The report is returned only when both ended (a failed source's error is thrown after the cleanup).
  const runs = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  for (const run of runs) tally.countRun(run);
  // A source that drained no partition (each held by another instance, or held back) says
  // nothing of whether what this run drained reached the head: with it, a run that retried
  // on one source and caught up there read as one whose retries left messages waiting.
  const drainedSome = runs.filter((run) => run.partitions.length > run.heldBack.length);
  // Requeued messages wait too, behind the checkpoints where no backlog counts them: those the
  // turn left, and one requeued while still ahead of its checkpoint that a drain passed after it.
  const drainedToHead = drainedSome.length > 0 && drainedSome.every((run) => run.caughtUp);
  tally.report.caughtUp = drainedToHead && !(await anyRequeuedWaiting(db));
  tally.report.stoppedByDeadline = runs.some((run) => run.stoppedByDeadline);
  // Whatever the processors did: one whose run fails every time (its source's reads
  // refused, say) must not leave the outbox uncleaned for as long as that lasts.
  await cleanUp(settings, cleanup, tally);
  // Whatever the cleanup did. Rows left behind are matched by place, so they mark nothing
  // else sent, and the next run forgets them: a warning, not the run's error.
  await forgetPublishedAheadPassed(db).catch((error: unknown) => {
    log.warn('messages published behind a waiting one were not forgotten once passed; the next run forgets them', { error: describeError(error) });
  });
  const failures = [
    ...(requeueTurn.failure ? [requeueTurn.failure.error] : []),
    ...settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  ];
  // Each told once: the thrown error is all the function logs of a run that failed, and a
  // source's failure is in no status row. Both sources refused by one misconfigured
  // stream fail alike, and that stays the one error, of its own class.
  const distinct = new Map<string, unknown>();
  for (const failure of failures) {
    const told = describeError(failure);
    if (!distinct.has(told)) distinct.set(told, failure);
  }
  if (distinct.size === 1) throw failures[0];
  if (distinct.size > 1) throw new AggregateError([...distinct.values()], `the publisher run failed in ${distinct.size} places: ${[...distinct.keys()].join('; ')}`);
  return tally.finish();
}

/**
 * The outbox cleanup, into the report: a failure there is reported, not thrown,
 * since the run's publishing stands. Counted to the metrics too when it ends,
 * as the run's other figures are: a run whose source fails throws, and its
 * report is lost.
 */
async function cleanUp(settings: PublisherSettings, progress: CleanupProgress, tally: RunTally): Promise<void> {
  try {
    const processors = { outbox: OUTBOX_PUBLISHER, partitions: settings.partitions, events: EVENTS_PUBLISHER };
    const cleanup = await deleteExpiredOutboxRows(settings.db, settings.retention, processors, Date.now() + OUTBOX_CLEANUP_MAX_MS, progress.resumeAfter);
    progress.resumeAfter = cleanup.resumeAfter;
    tally.report.cleaned = cleanup.deleted;
    tally.report.cleanupCutShort = cleanup.cutShort;
    // Also 0: a run with nothing to delete says so, where an alarm on the figure would otherwise see no data.
    metrics.count('OutboxCleaned', cleanup.deleted);
  } catch (error) {
    if (error instanceof DeletionStoppedError) {
      tally.report.cleaned = error.deleted;
      metrics.count('OutboxCleaned', error.deleted);
    }
    tally.report.cleanupError = describeError(error);
    metrics.count('OutboxCleanupFailures', 1);
  }
}
