import { isPositiveCount, isRetentionMs, MAX_RETENTION_MS } from '../db';
import { MAX_FEED_PARTITIONS, subjectSyntaxProblem } from '../eventstore';
import { isBatchSize, isStorableName, MAX_BATCH_SIZE, MAX_TIMER_MS } from '../processing';
import type { OutboxRetention } from './outboxCleanup';
import { PublisherConfigurationError } from './PublisherConfigurationError';
import type { PublisherOptions, PublisherSettings } from './publisherOptions';
import { subjectCovers } from './subjectCoverage';
import { isAtMostCharacters } from '../text';

// JetStream holds the window in nanoseconds, in 64 bits (about 292 years).
export const MAX_DUPLICATE_WINDOW_MS = 100 * 365 * 24 * 60 * 60_000;
// What JetStream refuses in a stream name: whitespace, control characters, dots,
// wildcards and path separators; any other character (a letter with an accent) it takes.
const STREAM_NAME = /^[^\s\p{Cc}.*>/\\]{1,255}$/u;
export const MAX_STREAM_NAME_CHARACTERS = 255;

const refuse = (message: string): never => {
  throw new PublisherConfigurationError(message);
};

// A retention that is not a number, or is too long to subtract from now(), would fail
// every run's cleanup, after its publishing.
function checkRetention({ retentionMs, batchSize, maxBatches }: OutboxRetention): void {
  if (!isRetentionMs(retentionMs)) {
    refuse(`retention.retentionMs must be a number of milliseconds from 0 to ${MAX_RETENTION_MS} (a thousand years), not ${retentionMs}`);
  }
  // A batch of 0 deletes nothing; one that is not a whole number, or too large for a
  // LIMIT, fails the statement. maxBatches bounds a run's work, so it must be finite.
  for (const [name, value] of [['batchSize', batchSize], ['maxBatches', maxBatches]] as const) {
    if (!isPositiveCount(value)) refuse(`retention.${name} must be a positive integer, not ${value}`);
  }
}

/**
 * The acknowledgements come to `<inboxPrefix>.<id>.<token>`: a subject, and one
 * the stream does not capture, or JetStream would store every acknowledgement
 * as a message of the stream, for every consumer to receive.
 */
function checkInbox(inboxPrefix: string, streamSubjects: readonly string[]): void {
  const problem = subjectSyntaxProblem(inboxPrefix);
  if (problem !== undefined) refuse(`inboxPrefix: ${problem}`);
  const capturing = streamSubjects.find((pattern) => subjectCovers(pattern, `${inboxPrefix}.id.token`));
  if (capturing !== undefined) {
    refuse(`inboxPrefix ${JSON.stringify(inboxPrefix)} is under the stream's subject ${JSON.stringify(capturing)}: JetStream would store every acknowledgement`);
  }
}

/** A stream's subject: plain tokens, where "*" stands for one token and ">" (last) for the rest. */
function isSubjectPattern(pattern: string): boolean {
  const tokens = pattern.split('.');
  // In characters, as a subject is counted (natsSubject.ts).
  return (
    isAtMostCharacters(pattern, 255) &&
    tokens.every((token, index) => token === '*' || (token === '>' && index === tokens.length - 1) || subjectSyntaxProblem(token) === undefined)
  );
}

/** The numbers and names a publisher could never work with, each refused with what it must be. */
function checkShape(settings: PublisherSettings): void {
  const { name } = settings.stream;
  if (!STREAM_NAME.test(name)) {
    refuse(`stream.name ${JSON.stringify(name)} must be 1 to ${MAX_STREAM_NAME_CHARACTERS} characters without whitespace, control characters, ".", "*", ">", "/" or "\\"`);
  }
  // JetStream refuses a stream with a subject it cannot parse on every try, and the run would
  // take the refusal for NATS away: no message would ever be published, whatever its subject.
  if (settings.stream.subjects.length === 0) refuse('stream.subjects must name at least one subject');
  for (const pattern of settings.stream.subjects) {
    if (!isSubjectPattern(pattern)) {
      refuse(`stream.subjects: ${JSON.stringify(pattern)} must be dot-separated tokens without whitespace, "*" a whole token and ">" only the last one`);
    }
  }
  // Leases are taken in its name: without one, or with a NUL PostgreSQL cannot store, every run would fail to take any;
  // with a lone surrogate, stored as U+FFFD, two holders could take one lease for the same.
  if (!isStorableName(settings.holder)) refuse('holder must name this instance, not be empty or hold a NUL or a lone surrogate');
  const { partitions, publishTimeoutMs, leaseTtlMs } = settings;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_FEED_PARTITIONS) refuse(`partitions must be an integer from 1 to ${MAX_FEED_PARTITIONS}, not ${partitions}`);
  for (const [setting, value] of [['publishTimeoutMs', publishTimeoutMs], ['leaseTtlMs', leaseTtlMs]] as const) {
    if (!isNumberFrom(1, value, MAX_TIMER_MS)) refuse(`${setting} must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, not ${value}`);
  }
}

// A number, not text ('30000' from an environment variable), which compares as one would.
const isNumberFrom = (min: number, value: unknown, max: number): boolean => typeof value === 'number' && value >= min && value <= max;

/**
 * The window and the horizon are compared below, and a comparison with a value
 * that is no number is false: each must be a number first. A window that is
 * none reaches JetStream as no window at all (its default, two minutes), and a
 * backoff of nothing retries an unreachable NATS in a tight loop.
 */
function checkRetryTimes({ stream, retryHorizonMs, retryBackoff }: PublisherSettings): void {
  const { duplicateWindowMs } = stream;
  if (!isNumberFrom(1, duplicateWindowMs, MAX_DUPLICATE_WINDOW_MS)) {
    refuse(`stream.duplicateWindowMs must be a number of milliseconds from 1 to ${MAX_DUPLICATE_WINDOW_MS} (a hundred years), not ${duplicateWindowMs}`);
  }
  if (!isNumberFrom(1, retryHorizonMs, Number.MAX_VALUE)) refuse(`retryHorizonMs must be a number of milliseconds from 1, not ${retryHorizonMs}`);
  const { baseMs, maxMs } = retryBackoff;
  if (!(isNumberFrom(1, baseMs, MAX_TIMER_MS) && isNumberFrom(baseMs, maxMs, MAX_TIMER_MS))) {
    refuse(`retryBackoff must be numbers of milliseconds with 1 <= baseMs <= maxMs <= ${MAX_TIMER_MS}, not { baseMs: ${baseMs}, maxMs: ${maxMs} }`);
  }
}

/**
 * The horizon is the user's estimate, and the schedule's interval is theirs to add; what
 * the publisher's own settings make certain is refused. A publish whose acknowledgement
 * is lost waits its timeout and a pause, renewing the lease, before its retry; an
 * instance that dies then is taken over once its lease runs out: that late, the copy
 * comes from a successor that runs at once (a warm instance, the dev server).
 */
function checkRetryHorizon({ leaseTtlMs, publishTimeoutMs, retryBackoff, retryHorizonMs }: PublisherSettings): void {
  const latestCopyMs = leaseTtlMs + publishTimeoutMs + retryBackoff.maxMs;
  if (latestCopyMs >= retryHorizonMs) {
    refuse(
      `the retry horizon (${retryHorizonMs} ms) must be longer than the lease TTL, the publish timeout and the longest retry pause together (${latestCopyMs} ms): a copy of a message may come that late, and later by the interval between scheduled runs`,
    );
  }
}

const isFunction = (value: unknown): boolean => typeof value === 'function';

// A text is quoted, so that '1 hour' reads as the text it is.
const describeValue = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

// A setting given as null was read as left out (`??`): a retention of null ran with a
// day's. Left out, it takes its default; null is refused, naming it.
function checkLeftOutNotNull(settings: object, prefix: string): void {
  for (const [name, value] of Object.entries(settings)) {
    if (value === null) refuse(`${prefix}${name} must be left out for its default, not null`);
  }
}

/**
 * What a plain-JavaScript caller may leave out, or give as something else: each
 * was taken, and failed every run (a connect that is no function was retried as
 * NATS away), or the construction with a TypeError.
 */
export function checkPublisherParts(options: PublisherOptions): void {
  if (typeof options !== 'object' || (options as unknown) === null) refuse('options must be an object with db and connect');
  if (!isFunction((options.db as Partial<PublisherOptions['db']> | undefined)?.query)) refuse('db must be a database (createPgDb, say)');
  if (!isFunction(options.connect)) refuse('connect must be a function that opens a NATS connection');
  if (options.routing !== undefined && !isFunction((options.routing as Partial<NonNullable<PublisherOptions['routing']>> | null)?.subjectFor)) {
    refuse('routing must be an event routing (eventRouting, say), with a subjectFor function');
  }
  if (options.onRetry !== undefined && !isFunction(options.onRetry)) refuse('onRetry must be a function');
  checkLeftOutNotNull(options, '');
  for (const group of ['stream', 'retention'] as const) {
    const settings: unknown = options[group];
    if (settings === undefined) continue;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) refuse(`${group} must be an object of settings, not ${describeValue(settings)}`);
    else checkLeftOutNotNull(settings, `${group}.`);
  }
  const subjects: unknown = options.stream?.subjects;
  if (subjects !== undefined && !(Array.isArray(subjects) && subjects.every((subject) => typeof subject === 'string'))) {
    refuse(`stream.subjects must be a list of subjects, not ${JSON.stringify(subjects)}`);
  }
}

/** Refuses, with PublisherConfigurationError, settings under which no run could publish correctly. */
export function checkPublisherSettings(settings: PublisherSettings): void {
  checkShape(settings);
  checkRetryTimes(settings);
  if (settings.stream.duplicateWindowMs <= settings.retryHorizonMs) {
    refuse(
      `the duplicate window (${settings.stream.duplicateWindowMs} ms) must be longer than the retry horizon (${settings.retryHorizonMs} ms), or a retried publish could reach consumers twice`,
    );
  }
  checkRetryHorizon(settings);
  // The engine refuses it too, but only once a run starts: refused here with the other settings.
  if (!isBatchSize(settings.batchSize)) refuse(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}, not ${settings.batchSize}`);
  checkRetention(settings.retention);
  checkInbox(settings.inboxPrefix, settings.stream.subjects);
}
