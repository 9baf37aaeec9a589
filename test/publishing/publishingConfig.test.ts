import { describe, expect, it } from 'vitest';
import { createPgDb, DEFAULT_DATABASE_URL } from '../../core/db';
import { createPublisher, publishingConfigFromEnv, PublisherConfigurationError } from '../../core/publishing';
import { connectNats } from '../support/natsTesting';

describe('publishing configuration', () => {
  it('defaults to the events prefix, the EVENTS stream, 4 partitions and a 10-minute duplicate window', () => {
    expect(publishingConfigFromEnv({})).toEqual({
      PUBLISH_SUBJECT_PREFIX: 'events',
      PUBLISH_STREAM: 'EVENTS',
      PUBLISH_PARTITIONS: 4,
      PUBLISH_DUPLICATE_WINDOW_SECONDS: 600,
      OUTBOX_RETENTION_HOURS: 24,
    });
  });

  it('names every bad value', () => {
    expect(() => publishingConfigFromEnv({ PUBLISH_PARTITIONS: '0', PUBLISH_SUBJECT_PREFIX: 'a.b' })).toThrow(
      /Invalid publishing configuration: .*PUBLISH_SUBJECT_PREFIX.*PUBLISH_PARTITIONS|Invalid publishing configuration: .*PUBLISH_PARTITIONS.*PUBLISH_SUBJECT_PREFIX/,
    );
  });

  it('refuses a duplicate window no longer than the retry horizon, since a retry could then be delivered twice', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    try {
      expect(() =>
        createPublisher({ db, connect: () => connectNats(), stream: { duplicateWindowMs: 60_000 }, retryHorizonMs: 120_000 }),
      ).toThrow(PublisherConfigurationError);
    } finally {
      void db.close();
    }
  });
});
