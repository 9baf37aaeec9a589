import { describe, expect, it } from 'vitest';
import { createPgDb, DEFAULT_DATABASE_URL } from '../../core/db';
import { createOutboxPublisher, outboxConfigFromEnv, OutboxConfigurationError } from '../../core/outbox';
import { connectNats } from '../support/natsTesting';

describe('outbox configuration', () => {
  it('defaults to the events prefix, the EVENTS stream, 4 partitions and a 10-minute duplicate window', () => {
    expect(outboxConfigFromEnv({})).toEqual({
      OUTBOX_SUBJECT_PREFIX: 'events',
      OUTBOX_STREAM: 'EVENTS',
      OUTBOX_PARTITIONS: 4,
      OUTBOX_DUPLICATE_WINDOW_SECONDS: 600,
      OUTBOX_RETENTION_HOURS: 24,
      OUTBOX_MAX_ATTEMPTS: 5,
    });
  });

  it('names every bad value', () => {
    expect(() => outboxConfigFromEnv({ OUTBOX_PARTITIONS: '0', OUTBOX_SUBJECT_PREFIX: 'a.b' })).toThrow(
      /Invalid outbox configuration: .*OUTBOX_SUBJECT_PREFIX.*OUTBOX_PARTITIONS|Invalid outbox configuration: .*OUTBOX_PARTITIONS.*OUTBOX_SUBJECT_PREFIX/,
    );
  });

  it('refuses a duplicate window no longer than the retry horizon, since a retry could then be delivered twice', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    try {
      expect(() =>
        createOutboxPublisher({ db, connect: () => connectNats(), stream: { duplicateWindowMs: 60_000 }, retryHorizonMs: 120_000 }),
      ).toThrow(OutboxConfigurationError);
    } finally {
      void db.close();
    }
  });
});
