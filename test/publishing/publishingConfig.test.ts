import { describe, expect, it } from 'vitest';
import { createPgDb, DEFAULT_DATABASE_URL } from '../../core/db';
import { connectWithin, createPublisher, eventRouting, natsAddressToShow, natsConnectOptionsOf, publishingConfigFromEnv, PublisherConfigurationError, type PublisherOptions } from '../../core/publishing';
import { connectNats } from '../support/natsTesting';

describe('publishing configuration', () => {
  it('defaults to the events prefix, the EVENTS stream, 4 partitions, pages of 1,000 and a 10-minute duplicate window', () => {
    expect(publishingConfigFromEnv({})).toEqual({
      PUBLISH_SUBJECT_PREFIX: 'events',
      PUBLISH_STREAM: 'EVENTS',
      PUBLISH_PARTITIONS: 4,
      PUBLISH_BATCH_SIZE: 1_000,
      PUBLISH_DUPLICATE_WINDOW_SECONDS: 600,
      OUTBOX_RETENTION_HOURS: 24,
    });
  });

  it('names every bad value', () => {
    expect(() => publishingConfigFromEnv({ PUBLISH_PARTITIONS: '0', PUBLISH_SUBJECT_PREFIX: 'a.b' })).toThrow(
      /Invalid publishing configuration: .*PUBLISH_SUBJECT_PREFIX.*PUBLISH_PARTITIONS|Invalid publishing configuration: .*PUBLISH_PARTITIONS.*PUBLISH_SUBJECT_PREFIX/,
    );
  });

  it('refuses at the cold start a subject prefix NATS reserves, which the publisher would refuse on every run', () => {
    expect(() => publishingConfigFromEnv({ PUBLISH_SUBJECT_PREFIX: '_INBOX' })).toThrow(/PUBLISH_SUBJECT_PREFIX.*reserved for NATS/);
    expect(publishingConfigFromEnv({ PUBLISH_SUBJECT_PREFIX: '_INBOXES' }).PUBLISH_SUBJECT_PREFIX).toBe('_INBOXES');
  });

  it('refuses a NATS_URL the NATS client cannot read, naming what is wrong; and takes a host, host:port, a scheme and credentials', () => {
    const refusals: [string, RegExp][] = [
      ['', /must name a server/],
      [' ', /must name a server/],
      ['nats://', /must name a server/],
      ['nats://127.0.0.1:99999', /port out of range/],
      ['nats://host:0', /port out of range/],
      ['nats://a:4222,nats://b:4222', /one server, not a list/],
      ['ws://host:80', /nats:\/\/ or tls:\/\//],
      ['nats://user:%zz@host', /percent-encoded/],
      ['nats://:password@host', /no user or token/],
      ['nats://publisher:pass/word@nats', /percent-encoded/],
    ];
    for (const [address, problem] of refusals) {
      const refusal = (() => {
        try {
          publishingConfigFromEnv({ NATS_URL: address });
          return 'taken';
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      })();
      expect(refusal, address).toMatch(/^Invalid publishing configuration: NATS_URL: /);
      expect(refusal, address).toMatch(problem);
      // Never quoted: it may hold a password.
      if (address.includes('@')) expect(refusal, address).not.toContain(address.split('@')[0]?.split('//')[1] ?? address);
    }
    for (const address of ['nats://127.0.0.1:4222', '127.0.0.1:4222', 'localhost', 'tls://user:password@nats.example.com:4443', 'nats://[::1]:4222']) {
      expect(publishingConfigFromEnv({ NATS_URL: address }).NATS_URL).toBe(address);
    }
  });

  it('connects to the address as written, its credentials given as options and never shown, and requires TLS of a tls:// one', () => {
    expect(natsConnectOptionsOf('nats://nats.example.com:80')).toEqual({ servers: 'nats://nats.example.com:80' });
    expect(natsConnectOptionsOf('nats://publisher:s%40cret@nats:4222')).toEqual({ servers: 'nats://nats:4222', user: 'publisher', pass: 's@cret' });
    expect(natsConnectOptionsOf('nats://a-token@nats:4222')).toEqual({ servers: 'nats://nats:4222', token: 'a-token' });
    expect(natsConnectOptionsOf('tls://nats.example.com:4443')).toEqual({ servers: 'tls://nats.example.com:4443', tls: {} });
    expect(natsAddressToShow('nats://publisher:s%40cret@nats:4222')).toBe('nats:4222');
    expect(() => natsConnectOptionsOf('nats://')).toThrow(PublisherConfigurationError);
  });

  it('refuses a batch size that is no whole number from 1 to the largest integer PostgreSQL holds', () => {
    for (const size of ['0', '-1', '2.5', 'many', '2147483648']) {
      expect(() => publishingConfigFromEnv({ PUBLISH_BATCH_SIZE: size }), size).toThrow(/Invalid publishing configuration: .*PUBLISH_BATCH_SIZE/);
    }
    expect(publishingConfigFromEnv({ PUBLISH_BATCH_SIZE: '50' }).PUBLISH_BATCH_SIZE).toBe(50);
  });

  it('refuses a duplicate window not longer than the retry horizon (5 minutes) when it reads the environment, before any publisher is built', () => {
    for (const seconds of ['300', '60', '0']) {
      expect(() => publishingConfigFromEnv({ PUBLISH_DUPLICATE_WINDOW_SECONDS: seconds })).toThrow(/PUBLISH_DUPLICATE_WINDOW_SECONDS: must be longer than the publisher's retry horizon, 300 s/);
    }
    expect(publishingConfigFromEnv({ PUBLISH_DUPLICATE_WINDOW_SECONDS: '301' }).PUBLISH_DUPLICATE_WINDOW_SECONDS).toBe(301);
  });

  it('refuses, when it reads the environment, a duplicate window or a stream name the publisher would refuse on every run', () => {
    const hundredYears = 100 * 365 * 24 * 3_600;
    expect(() => publishingConfigFromEnv({ PUBLISH_DUPLICATE_WINDOW_SECONDS: String(hundredYears + 1) })).toThrow(/PUBLISH_DUPLICATE_WINDOW_SECONDS: must be at most 3153600000 s \(a hundred years\)/);
    expect(publishingConfigFromEnv({ PUBLISH_DUPLICATE_WINDOW_SECONDS: String(hundredYears) }).PUBLISH_DUPLICATE_WINDOW_SECONDS).toBe(hundredYears);
    expect(() => publishingConfigFromEnv({ PUBLISH_STREAM: 'S'.repeat(256) })).toThrow(/PUBLISH_STREAM: .*255 characters/);
    expect(publishingConfigFromEnv({ PUBLISH_STREAM: 'S'.repeat(255) }).PUBLISH_STREAM).toBe('S'.repeat(255));
  });

  it('refuses an empty OUTBOX_RETENTION_HOURS, which read as 0 deleted messages right after publishing, and one over ten years', () => {
    expect(() => publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: '' })).toThrow(/OUTBOX_RETENTION_HOURS: must not be empty/);
    expect(() => publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: ' ' })).toThrow(/OUTBOX_RETENTION_HOURS: must not be empty/);
    expect(() => publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: '87601' })).toThrow(/OUTBOX_RETENTION_HOURS: must be at most 87600 hours/);
    expect(() => publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: '-1' })).toThrow(/OUTBOX_RETENTION_HOURS/);
    expect(publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: '0' }).OUTBOX_RETENTION_HOURS).toBe(0);
    expect(publishingConfigFromEnv({ OUTBOX_RETENTION_HOURS: '87600' }).OUTBOX_RETENTION_HOURS).toBe(87_600);
  });

  it('refuses outbox retention settings that would never clean up or fail every run after publishing', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    const thousandYears = 1_000 * 365 * 24 * 3_600_000;
    try {
      for (const retention of [
        { batchSize: 0 },
        { batchSize: -1 },
        { batchSize: 1.5 },
        { batchSize: Number.NaN },
        { batchSize: 2 ** 63 },
        { maxBatches: 0 },
        { maxBatches: Number.POSITIVE_INFINITY },
        { retentionMs: -1 },
        { retentionMs: Number.NaN },
        { retentionMs: Number.POSITIVE_INFINITY },
        { retentionMs: thousandYears + 1 },
        // What a JavaScript caller or a parsed config may hand over: each would pass a comparison alone.
        ...(['', true, [86_400_000]] as unknown as number[]).map((retentionMs) => ({ retentionMs })),
      ]) {
        const [setting] = Object.keys(retention);
        expect(() => createPublisher({ db, connect: () => connectNats(), retention }), setting).toThrow(PublisherConfigurationError);
        expect(() => createPublisher({ db, connect: () => connectNats(), retention }), setting).toThrow(`retention.${setting}`);
      }
      expect(() => createPublisher({ db, connect: () => connectNats(), retention: { retentionMs: thousandYears, batchSize: 1, maxBatches: 1 } })).not.toThrow();
      expect(() => createPublisher({ db, connect: () => connectNats(), retention: { retentionMs: 0 } })).not.toThrow();
    } finally {
      void db.close();
    }
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
  it('refuses a retry horizon no longer than the lease, the publish timeout and the longest retry pause together, the latest a successor sends its copy', () => {
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    const build = (retryHorizonMs: number) => () =>
      createPublisher({ db, connect: () => connectNats(), leaseTtlMs: 30_000, publishTimeoutMs: 5_000, retryBackoff: { baseMs: 200, maxMs: 5_000 }, retryHorizonMs });
    try {
      // Shorter than the lease was refused before; 31 s passed, where a copy may come 40 s after the first.
      expect(build(31_000)).toThrow(PublisherConfigurationError);
      expect(build(40_000)).toThrow(/^the retry horizon \(40000 ms\) must be longer than the lease TTL, the publish timeout and the longest retry pause together \(40000 ms\)/);
      expect(build(40_001)).not.toThrow();
    } finally {
      void db.close();
    }
  });
  it('refuses a duplicate window, retry horizon or retry backoff that is not a number of milliseconds JetStream and Node take, and a holder that is empty or holds a NUL', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    const build = (options: Partial<Parameters<typeof createPublisher>[0]>) => () => createPublisher({ db, connect: () => connectNats(), ...options });
    const century = 100 * 365 * 24 * 3_600_000;
    try {
      // A window that is no number reached JetStream as none, and the stream kept its default of two minutes.
      for (const duplicateWindowMs of [Number.NaN, Number.POSITIVE_INFINITY, century + 1, '600000' as unknown as number]) {
        expect(build({ stream: { duplicateWindowMs } }), String(duplicateWindowMs)).toThrow(/^stream.duplicateWindowMs must be/);
      }
      // A horizon that is no number passed both checks it takes part in.
      for (const retryHorizonMs of [Number.NaN, 0, Number.POSITIVE_INFINITY]) {
        expect(build({ retryHorizonMs }), String(retryHorizonMs)).toThrow(/^retryHorizonMs must be/);
      }
      // A backoff of nothing retried an unreachable NATS in a tight loop.
      // Text compares as a number would, and was handed to every run's engine, which refused it on every run.
      const inText = { baseMs: '100', maxMs: '5000' } as unknown as { baseMs: number; maxMs: number };
      for (const retryBackoff of [{ baseMs: 0, maxMs: 0 }, { baseMs: Number.NaN, maxMs: 1_000 }, { baseMs: 100, maxMs: 50 }, { baseMs: 100, maxMs: 2 ** 31 }, inText]) {
        expect(build({ retryBackoff }), JSON.stringify(retryBackoff)).toThrow(/^retryBackoff must be/);
      }
      // Every run took its leases in the name of no one, and failed.
      expect(build({ holder: '' })).toThrow(/^holder must name this instance/);
      // PostgreSQL stores no NUL: the runs failed on an untyped error, after registering their processors.
      expect(build({ holder: 'a\u0000b' })).toThrow(/^holder must name this instance/);
      // Stored as U+FFFD: two holders differing in one would take one lease for the same.
      expect(build({ holder: 'a\ud800' })).toThrow('holder must name this instance, not be empty or hold a NUL or a lone surrogate');
      expect(build({ stream: { duplicateWindowMs: century }, retryHorizonMs: 1_000, leaseTtlMs: 500, publishTimeoutMs: 400, retryBackoff: { baseMs: 1, maxMs: 1 } })).not.toThrow();
    } finally {
      void db.close();
    }
  });

  it('refuses an inbox prefix that is no subject, or one the stream would capture, where every acknowledgement would be stored as a message', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    try {
      for (const inboxPrefix of ['replies here', '', 'replies.*', 'replies.', 'replies.>']) {
        expect(() => createPublisher({ db, connect: () => connectNats(), inboxPrefix }), inboxPrefix).toThrow(/^inboxPrefix: /);
      }
      expect(() => createPublisher({ db, connect: () => connectNats(), subjectPrefix: 'bank', inboxPrefix: 'bank.inbox' })).toThrow(
        'inboxPrefix "bank.inbox" is under the stream\'s subject "bank.>"',
      );
      expect(() => createPublisher({ db, connect: () => connectNats(), stream: { subjects: ['bank.*.*'] }, inboxPrefix: 'bank' })).toThrow(PublisherConfigurationError);
      expect(() => createPublisher({ db, connect: () => connectNats(), subjectPrefix: 'bank', inboxPrefix: 'replies.bank' })).not.toThrow();
    } finally {
      void db.close();
    }
  });

  it('refuses a subject prefix, stream name, partition count, publish timeout or lease no run could work with, naming the setting, and takes what JetStream and Node take', async () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    const build = (options: Partial<Parameters<typeof createPublisher>[0]>) => () => createPublisher({ db, connect: () => connectNats(), ...options });
    try {
      for (const subjectPrefix of ['', 'has space', 'bank.*', '$JS', '_INBOX']) expect(build({ subjectPrefix }), subjectPrefix).toThrow(/^subjectPrefix: /);
      // The routing's own prefix too: with a bad one every event was parked, and a requeue kept its subject.
      for (const prefix of ['', 'bank.', 'has space', 'bank.*']) {
        expect(() => eventRouting({ prefix }), prefix).toThrow(PublisherConfigurationError);
        expect(() => eventRouting({ prefix }), prefix).toThrow(/^routing prefix: /);
      }
      expect(() => eventRouting({ prefix: 'bank.events' })).not.toThrow();
      for (const name of ['', 'EVENTS.ALL', 'my events', 'a/b', 'x'.repeat(256)]) expect(build({ stream: { name } }), name).toThrow(/^stream.name /);
      for (const partitions of [0, 1.5, 1025, Number.NaN]) expect(build({ partitions }), String(partitions)).toThrow(/^partitions must be/);
      for (const publishTimeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        expect(build({ publishTimeoutMs }), String(publishTimeoutMs)).toThrow(/^publishTimeoutMs must be/);
      }
      expect(build({ leaseTtlMs: 0 })).toThrow(/^leaseTtlMs must be/);
      expect(build({ leaseTtlMs: '30000' as unknown as number })).toThrow(/^leaseTtlMs must be/);
      expect(build({ publishTimeoutMs: '5000' as unknown as number })).toThrow(/^publishTimeoutMs must be/);
      // A service's integration subjects go into the stream's: one JetStream refuses failed every run's stream check, blamed on NATS.
      for (const subjects of [['bank.>', 'compliance..large'], ['bank.>.x'], ['bank.x*'], ['has space.>'], []]) {
        expect(build({ stream: { name: 'BANK_EVENTS', subjects } }), JSON.stringify(subjects)).toThrow(/^stream.subjects/);
      }
      expect(build({ stream: { name: 'BANK_EVENTS', subjects: ['bank.>', 'compliance.*.large'] } })).not.toThrow();
      // A deadline that is no number (an unset variable added to now) is refused before the requeue turn sends anything.
      await expect(build({})().run({ deadline: Date.now() + Number(undefined) })).rejects.toThrow(/^deadline must be/);
      for (const name of ['tab\there', 'bell\u0007']) expect(build({ stream: { name } }), name).toThrow(/^stream.name /);
      expect(build({ subjectPrefix: 'bank.events', stream: { name: 'BANK_EVENTS' }, partitions: 1024, publishTimeoutMs: 1, leaseTtlMs: 1 })).not.toThrow();
      // JetStream takes any other character in a name, and a lease or timeout need not be whole.
      expect(build({ stream: { name: 'ÉVÉNEMENTS-1' }, leaseTtlMs: 12_345.5, publishTimeoutMs: 2_500.5 })).not.toThrow();
      // Subjects are counted in characters: a prefix of 130 emoji (260 UTF-16 units), and the stream subject "<prefix>.>" made of it, are within 255.
      expect(build({ subjectPrefix: '😀'.repeat(130) })).not.toThrow();
      expect(build({ subjectPrefix: '😀'.repeat(256) })).toThrow(/^subjectPrefix: subject must be at most 255 characters/);
    } finally {
      void db.close();
    }
  });

  it('refuses a page size that is not a whole number from 1, which would read the same page until its deadline', () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    try {
      for (const batchSize of [0, -1, 2.5, Number.NaN, 2 ** 31]) {
        expect(() => createPublisher({ db, connect: () => connectNats(), batchSize }), String(batchSize)).toThrow(PublisherConfigurationError);
        expect(() => createPublisher({ db, connect: () => connectNats(), batchSize }), String(batchSize)).toThrow('batchSize');
      }
      expect(() => createPublisher({ db, connect: () => connectNats(), batchSize: 1 })).not.toThrow();
    } finally {
      void db.close();
    }
  });

  it('refuses, as a plain-JavaScript caller may give them, no options, stream subjects that are no list of texts, and a connect, database or routing that is none', async () => {
    // Nothing connects: the publisher refuses its settings before it touches either service.
    const db = createPgDb({ connectionString: DEFAULT_DATABASE_URL, max: 1 });
    const build = (options: unknown) => () => createPublisher(options as PublisherOptions);
    const valid = { db, connect: () => connectNats() };
    try {
      expect(build(undefined)).toThrow(new PublisherConfigurationError('options must be an object with db and connect'));
      for (const [options, naming] of [
        [{ ...valid, stream: { subjects: 'bank.>' } }, 'stream.subjects'],
        [{ ...valid, stream: { subjects: [42] } }, 'stream.subjects'],
        [{ ...valid, connect: undefined }, 'connect'],
        [{ ...valid, connect: 'nats://127.0.0.1:4222' }, 'connect'],
        [{ ...valid, db: undefined }, 'db'],
        [{ ...valid, routing: {} }, 'routing'],
        [{ ...valid, routing: { subjectFor: 'bank.accounts' } }, 'routing'],
        // Each ran with the defaults, as if left out: a day's retention, 1,000 rows a batch, 4 partitions.
        [{ ...valid, retention: 3_600_000 }, 'retention'],
        [{ ...valid, retention: '1 hour' }, 'retention'],
        [{ ...valid, retention: { retentionMs: null } }, 'retention.retentionMs'],
        [{ ...valid, retention: { retentionMs: 3_600_000, batchSize: null } }, 'retention.batchSize'],
        [{ ...valid, retention: { retentionMs: 3_600_000, maxBatches: null } }, 'retention.maxBatches'],
        [{ ...valid, stream: 'ORDERS' }, 'stream'],
        [{ ...valid, stream: { name: null } }, 'stream.name'],
        [{ ...valid, partitions: null }, 'partitions'],
        [{ ...valid, batchSize: null }, 'batchSize'],
      ] as const) {
        expect(build(options), naming).toThrow(PublisherConfigurationError);
        expect(build(options), naming).toThrow(naming);
      }
      // Its run options are checked as its deadline is: before the requeue turn sends anything.
      await expect(createPublisher(valid).run(null as unknown as { deadline?: number })).rejects.toThrow(PublisherConfigurationError);
    } finally {
      void db.close();
    }
  });

  it('takes a subject from subjectFor only as text: any other answer is routing code gone wrong, as if it threw', () => {
    const event = { type: 'MoneyDeposited', streamType: 'account', streamId: 'acc-1' };
    const routedBy = (answer: unknown) => eventRouting({ subjectFor: () => answer as string }).subjectFor(event);

    expect(routedBy('bank.deposits')).toBe('bank.deposits');
    expect(routedBy(null)).toBeNull();
    expect(routedBy(undefined)).toBe('events.account.MoneyDeposited');
    expect(() => routedBy(42)).toThrow(new TypeError('subjectFor returned a number, not a subject, null or undefined'));
    expect(() => routedBy({ toString: () => 'bank.deposits' })).toThrow(new TypeError('subjectFor returned an object, not a subject, null or undefined'));
  });

  it('refuses a routing whose subjectFor is no function, which would fail the publishing of every event', () => {
    expect(() => eventRouting({ subjectFor: 'bank.accounts' as unknown as () => string })).toThrow(new PublisherConfigurationError('routing subjectFor must be a function'));
  });

  it('refuses a connect bound that is no number of milliseconds, under which every connect timed out at once, and a connect that is no function', () => {
    for (const ms of [Number(undefined), 0, -1, '5000', 2 ** 31]) {
      expect(() => connectWithin(() => connectNats(), ms as number), String(ms)).toThrow(PublisherConfigurationError);
    }
    expect(() => connectWithin(undefined as unknown as () => ReturnType<typeof connectNats>, 1_000)).toThrow(PublisherConfigurationError);
  });
});
