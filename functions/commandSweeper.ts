import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { indexStories, StoryIndexFailedError } from '../core/browser';
import type { AsyncCommands } from '../core/commands';
import type { Db, Queryable } from '../core/db';
import { log } from '../core/observability';
import { eachOnItsOwn } from '../core/processing';
import { RETENTION_STEPS, RetentionFailedError, retentionConfigFromEnv, runRetention, type RetentionStep } from '../core/service';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';
import { metrics } from './observability';

const DELETED_METRIC: Record<RetentionStep, string> = { commands: 'CommandRecordsDeleted', processedMessages: 'ProcessedMessagesDeleted' };

async function redriveStuckCommands(asyncCommands: AsyncCommands): Promise<void> {
  const { redispatched, failed } = await asyncCommands.sweepPendingCommands();
  metrics.addMetric('CommandsRedispatched', MetricUnit.Count, redispatched.length);
  metrics.addMetric('CommandsGivenUp', MetricUnit.Count, failed.length);
  if (redispatched.length > 0 || failed.length > 0) log.warn('swept stuck commands', { redispatched, failed });
}

async function deleteExpired(db: Queryable): Promise<void> {
  const countDeleted = (deleted: Readonly<Record<RetentionStep, number>>) => {
    for (const step of RETENTION_STEPS) metrics.addMetric(DELETED_METRIC[step], MetricUnit.Count, deleted[step]);
  };
  try {
    countDeleted(await runRetention(db, retentionConfigFromEnv()));
  } catch (error) {
    if (error instanceof RetentionFailedError) countDeleted(error.deleted);
    throw error;
  }
}

/** No story index batch starts closer than this to the Lambda's time limit. */
const TIME_LIMIT_MARGIN_MS = 5_000;

// The story index's lease holder: this container, as the other functions name theirs.
const HOLDER = `command-sweeper-${randomUUID()}`;

/** Indexes the events' correlation and trace ids for the event browser, off the write path (migration 0037). */
async function indexNewStories(db: Db, deadline: number): Promise<void> {
  try {
    const run = await indexStories(db, { holder: HOLDER, deadline });
    metrics.addMetric('StoryEventsIndexed', MetricUnit.Count, run.items);
  } catch (error) {
    // The batches before the failure are kept: counted all the same.
    if (error instanceof StoryIndexFailedError) metrics.addMetric('StoryEventsIndexed', MetricUnit.Count, error.run.items);
    throw error;
  }
}

/**
 * Scheduled: re-dispatches commands stuck pending (a lost invoke, a crashed
 * worker), then deletes what is past its retention (finished command records,
 * processed message ids), a bounded amount per run, and indexes the new
 * events' stories for the event browser. Each part runs whatever
 * the others did, so one that keeps failing starves none; a failure is
 * logged and fails the invocation once all have run.
 */
async function sweep(_event: unknown, context: Context): Promise<void> {
  const { asyncCommands, db } = await getRuntime();
  const deadline = Date.now() + context.getRemainingTimeInMillis() - TIME_LIMIT_MARGIN_MS;
  const parts = {
    redrive: () => redriveStuckCommands(asyncCommands),
    retention: () => deleteExpired(db),
    stories: () => indexNewStories(db, deadline),
  };
  await eachOnItsOwn(
    Object.entries(parts),
    ([part]) => part,
    async ([part, run]) => {
      try {
        await run();
      } catch (error) {
        log.error('the command sweeper failed at a part of its run; the other parts ran', { part, error: error instanceof Error ? error : String(error) });
        throw error;
      }
    },
  );
}

export const handler = lambdaEntry(sweep);
