import { log } from '../core/observability';
import type { Context } from 'aws-lambda';
import { describeError } from '../core/errors';
import { DEFAULT_PUBLISH_TIMEOUT_MS, heldBackPartitions, OUTBOX_CLEANUP_MAX_MS, type Publisher, type PublisherRunReport } from '../core/publishing';
import { createServicePublisher, NATS_CONNECT_TIMEOUT_MS, reportServiceGauges } from '../core/service';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime, type FunctionRuntime } from './runtime';

// Stop this long before Lambda's own limit, to release the leases and report.
// The deadline is checked between batches, and a batch begun just before it may
// open a connection (NATS_CONNECT_TIMEOUT_MS in all), check the stream, wait out one
// round of acknowledgements when NATS does not answer, then ask JetStream about
// the unanswered or refused subjects: the last three each bounded by the publish
// timeout, however many requests they make. Then the outbox cleanup, bounded on its
// own, and a second to give the leases back and report.
const SAFETY_MARGIN_MS = NATS_CONNECT_TIMEOUT_MS + 3 * DEFAULT_PUBLISH_TIMEOUT_MS + OUTBOX_CLEANUP_MAX_MS + 1_000;

let publisher: Publisher | undefined;

/** The runtime's publisher, built once per process; throws without NATS_URL. */
export function publisherFor(runtime: FunctionRuntime): Publisher {
  const { NATS_URL } = runtime.publishing;
  if (!NATS_URL) throw new Error('NATS_URL is not set: the publisher has nowhere to publish');
  publisher ??= createServicePublisher(runtime, { ...runtime.publishing, NATS_URL }, {
    onRetry: ({ processor, partition, error, retryInMs }) => {
      log.warn('a batch did not go out; retrying', { processor, partition, retryInMs, error: String(error) });
    },
  });
  return publisher;
}

/** What waits, as each run's lines carry it: after the gauges are reported. */
async function waitingStatus(runtime: FunctionRuntime): Promise<WaitingStatus> {
  const publishing = await reportServiceGauges(runtime);
  return {
    backlog: publishing.events.backlog + publishing.outbox.backlog,
    backlogCapped: publishing.events.backlogCapped || publishing.outbox.backlogCapped,
    oldestAgeSeconds: Math.max(publishing.events.oldestAgeSeconds, publishing.outbox.oldestAgeSeconds),
    parked: publishing.parked,
    requeued: publishing.requeued,
    heldBack: heldBackPartitions(publishing),
  };
}

interface WaitingStatus {
  backlog: number;
  backlogCapped: boolean;
  oldestAgeSeconds: number;
  parked: number;
  requeued: number;
  heldBack: ReturnType<typeof heldBackPartitions>;
}

const PARKED = 'messages refused by NATS for good are parked';
const HELD_BACK = 'publishing partitions are held back after publishers died holding them; they wait';

type Line = readonly [level: 'error' | 'warn', message: string];

/**
 * A line for each thing wrong, at its level: what the status alone decides (a
 * partition held back) also for a run that threw (`report` null), the rest from
 * the run's report. The parked error is apart: it stands beside these lines.
 */
function problemsOf(report: PublisherRunReport | null, status: WaitingStatus | null): Line[] {
  const problems: Line[] = [];
  if (report && report.failures > 0) problems.push(['error', 'a publisher died holding a partition: its batch was counted against it']);
  // The run's report covers only the partitions it drained: one waiting out a backoff is in the status alone.
  if (status && status.heldBack.length > 0) problems.push(['warn', HELD_BACK]);
  if (!report) return problems;
  // The instance that took a partition over says so too, but not one that took the requeue turn over.
  if (report.leaseLost > 0) problems.push(['warn', 'the publisher stalled past its lease and another instance took its work over; what went out may go out again']);
  // Whatever did not go out (NATS refused or did not answer, routing code threw, the database
  // answered too late for the lease) is counted as a retry; the retries' warnings say why. A run
  // that retried and then caught up left nothing waiting: said at info level, with its retries.
  // Not caught up alone says nothing of that: another instance may hold every partition of a source.
  if (!report.caughtUp && report.retried > 0) problems.push(['warn', 'not every message went out; they wait']);
  if (report.stoppedByDeadline) problems.push(['warn', 'the publisher ran out of time before it was done; the rest waits for the next run']);
  if (report.cleanupError !== null) problems.push(['error', 'the outbox cleanup failed; messages past their retention wait for the next run']);
  // Said on every run while it lasts: a backlog of old rows the runs do not get through.
  if (report.cleanupCutShort) problems.push(['warn', 'the outbox cleanup stopped with messages past their retention still to look at; they wait for the next run']);
  return problems;
}

/**
 * Logs the parked error and a line for each problem, each on every run while it
 * lasts: an alert on one line keeps firing whatever else the run met. Parked
 * messages do not stop the others going out, so the run's own lines still
 * follow. Returns how many problems there were besides the parked messages.
 */
function logProblems(report: PublisherRunReport | null, status: WaitingStatus | null): number {
  if (status && status.parked > 0) log.error(PARKED, { report, status });
  const problems = problemsOf(report, status);
  for (const [level, message] of problems) log[level](message, { report, status });
  return problems.length;
}

/**
 * Scheduled, and nudged after commits: publishes to JetStream until nothing is
 * left or the invocation nears its time limit, then reports the backlog.
 */
async function publish(_event: unknown, context: Context): Promise<void> {
  const runtime = await getRuntime();
  let report: PublisherRunReport;
  try {
    report = await publisherFor(runtime).run({ deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS });
  } catch (error) {
    // A run that throws (a source or its requeue turn failed, or no NATS_URL to publish to,
    // on every run while it lasts) still reports what waits: the alerts on the gauges and
    // on the status's lines keep firing.
    const status = await waitingStatus(runtime).catch(() => null);
    logProblems(null, status);
    log.error('the publisher run failed; what it did not publish waits for the next run', { error: describeError(error), status });
    throw error;
  }
  // Messages, latencies, retries, parkings and the cleanup are counted by core as they happen; the backlog and parked gauges here.
  // A failed read of what waits (a statement timeout) takes none of the run's lines with it: the run stands.
  let statusError: unknown;
  const status = await waitingStatus(runtime).catch((error: unknown) => {
    statusError = error;
    return null;
  });
  const problems = logProblems(report, status);
  if (!status) log.error('reading what waits failed: the backlog and parked gauges were not reported for this run', { report, error: describeError(statusError) });
  else if (problems === 0) log.info('published', { report, status });
}

export const handler = lambdaEntry(publish);
