import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { ClosedConnectionError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { StreamCheckTimeoutError } from './StreamCheckTimeoutError';
import { answerWithin } from './answerWithin';
import { linkOf, reconnectIfSilent } from './connectionLink';
import { jetStreamPublishing, type JetStreamPublishing } from './jetStreamPublishing';
import { ensurePublishStream } from './jetStreamStream';
import { subjectCovers } from './subjectCoverage';
import type { PublisherSettings } from './publisherOptions';
import type { SubjectCapture } from './refusals';

const ACKNOWLEDGING: SubjectCapture = { kind: 'acknowledging' };

export interface PublisherConnection {
  /**
   * The open connection's publishing path, connecting when there is none, and
   * making sure of the stream once a run.
   */
  publishing(): Promise<JetStreamPublishing>;
  /** A run begins: the stream is checked again before its first publish. */
  beginRun(): void;
  /**
   * A run ends: a connection that is down is closed. Left to reconnect on its
   * own, it would send what the client still held once the dial it was making
   * came through, perhaps after a Lambda freeze, long past the duplicate window.
   */
  endRun(): Promise<void>;
  /**
   * Which stream captures the subject, asked of JetStream. When none does but
   * the publisher's own stream should (it was deleted, or lost with a memory
   * store), the stream is made again and the answer is its own (which
   * acknowledges: it is refused with no_ack).
   */
  captured(subject: string): Promise<SubjectCapture>;
  /**
   * The most bytes the stream capturing the subject may ever hold: its
   * `max_bytes`, or the account's JetStream storage of the stream's kind (file
   * or memory) where that is less; undefined for no limit.
   */
  maxBytes(subject: string): Promise<number | undefined>;
  /** Closes the connection, and the one still opening; a run that goes on opens no other. */
  close(): Promise<void>;
}

// Draining needs the server: with NATS away it fails, and with NATS stalled it would
// wait for ever, so it gets as long as a publish; the connection, left open, would
// reconnect on its own once NATS is back, held by nothing. Nothing unacknowledged is
// lost by closing it: a checkpoint moves only past acknowledgements. Shut once, however
// many ask: a second shut finds the connection draining, and its close() during that
// drain never settles.
const shutting = new WeakMap<NatsConnection, Promise<void>>();
function shut(nc: NatsConnection, drainMs: number): Promise<void> {
  let done = shutting.get(nc);
  if (!done) {
    done = nc.isClosed() ? Promise.resolve() : answerWithin(nc.drain(), drainMs).catch(() => undefined).then(() => (nc.isClosed() ? undefined : nc.close()));
    shutting.set(nc, done);
  }
  return done;
}

interface OpenConnection {
  nc: NatsConnection;
  publishing: JetStreamPublishing;
  link: { up: boolean };
}

/**
 * One NATS connection per publisher instance, reused across runs (warm Lambda
 * invocations) and shared by the partitions draining at once. The stream is
 * checked when the connection opens and again at each run's first use of it
 * (one STREAM.INFO request):
 * made again meanwhile with a shorter duplicate window, it would let a batch
 * sent again after a lost checkpoint reach consumers twice.
 */
export function publisherConnection(settings: PublisherSettings): PublisherConnection {
  let current: OpenConnection | undefined;
  let connecting: Promise<OpenConnection> | undefined;
  let streamChecked = false;
  let checking: Promise<void> | undefined;
  let closed = false;
  const refuseOnceClosed = () => {
    if (closed) throw new ClosedConnectionError();
  };
  // Several requests, each with its own timeout: bounded as a whole, as a publish is.
  const checkStream = (nc: NatsConnection) =>
    answerWithin(ensurePublishStream(nc, settings.stream, Date.now() + settings.publishTimeoutMs), settings.publishTimeoutMs).catch((error: unknown) => {
      throw error instanceof TimeoutError ? new StreamCheckTimeoutError(settings.stream.name, settings.publishTimeoutMs) : error;
    });

  // A round of which nothing was answered has the stream checked again before the next
  // one: the check, unanswered too, then has the client ping the server, and reconnect
  // if that goes unanswered as well (below).
  const checkedAgainAfterSilence = (publishing: JetStreamPublishing): JetStreamPublishing => ({
    async publishAll(messages, timeoutMs) {
      const results = await publishing.publishAll(messages, timeoutMs);
      if (results.length > 0 && results.every((result) => result.kind === 'unreachable' && result.error instanceof TimeoutError)) streamChecked = false;
      return results;
    },
  });

  async function open(): Promise<OpenConnection> {
    const nc = await settings.connect();
    // Watched from the start: a disconnect during the stream check counts too.
    const link = linkOf(nc);
    try {
      await checkStream(nc);
      return { nc, publishing: checkedAgainAfterSilence(jetStreamPublishing(nc, settings.inboxPrefix)), link };
    } catch (error) {
      // Each try opens a connection of its own: one left open would pile up with every retry.
      await nc.close();
      throw error;
    }
  }

  async function connection(): Promise<OpenConnection> {
    refuseOnceClosed();
    let held = current;
    if (!held || held.nc.isClosed()) {
      connecting ??= open().finally(() => {
        connecting = undefined;
      });
      const opened = await connecting;
      if (closed) {
        await shut(opened.nc, settings.publishTimeoutMs);
        throw new ClosedConnectionError();
      }
      current = opened;
      held = opened;
      streamChecked = true;
    }
    if (!streamChecked) {
      const { nc } = held;
      checking ??= checkStream(nc)
        .then(
          () => {
            streamChecked = true;
          },
          (error: unknown) => {
            if (error instanceof TimeoutError) void reconnectIfSilent(nc, settings.publishTimeoutMs);
            throw error;
          },
        )
        .finally(() => {
          checking = undefined;
        });
      await checking;
    }
    // This connection, even if a run's end (or close) let it go meanwhile: its use then fails as on any closed one.
    return held;
  }

  /**
   * The connection a question is asked on: the open one as it is. After a round NATS
   * left unanswered the stream is to be checked again, but by the next publish: checked
   * before the question, within its bound, the two would not fit where each does
   * (the message never parked), and outside it they would take two publish timeouts
   * where the function's margin counts one. A connection that is silent fails the
   * question, which keeps the message to be retried.
   */
  async function asking(): Promise<OpenConnection> {
    refuseOnceClosed();
    const held = current;
    return held && !held.nc.isClosed() ? held : connection();
  }

  async function capturedBy({ nc }: { nc: NatsConnection }, subject: string): Promise<SubjectCapture> {
    const until = Date.now() + settings.publishTimeoutMs;
    const jsm = await jetstreamManager(nc, { timeout: settings.publishTimeoutMs, checkAPI: false });
    // find() answers with the stream's name, or fails when no stream captures the subject.
    const found = await jsm.streams.find(subject).then(
      (name): string | undefined => name,
      (error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return undefined;
        throw error;
      },
    );
    // The publisher's own stream is refused with no_ack when set up: asked no more.
    if (found === settings.stream.name) return ACKNOWLEDGING;
    if (found !== undefined) {
      const { config } = await jsm.streams.info(found);
      return config.no_ack === true ? { kind: 'unacknowledging', stream: found } : ACKNOWLEDGING;
    }
    if (!settings.stream.subjects.some((pattern) => subjectCovers(pattern, subject))) return { kind: 'none' };
    // The stream was checked when the connection opened or at this run's first use of it; it has gone since.
    await ensurePublishStream(nc, settings.stream, until);
    return ACKNOWLEDGING;
  }

  async function maxBytesOf({ nc }: { nc: NatsConnection }, subject: string): Promise<number | undefined> {
    const jsm = await jetstreamManager(nc, { timeout: settings.publishTimeoutMs, checkAPI: false });
    const [{ config }, { limits }] = await Promise.all([jsm.streams.info(await jsm.streams.find(subject)), jsm.getAccountInfo()]);
    const accountLimit = config.storage === StorageType.Memory ? limits.max_memory : limits.max_storage;
    const positive = [config.max_bytes, accountLimit].filter((limit) => limit > 0);
    return positive.length > 0 ? Math.min(...positive) : undefined;
  }

  return {
    publishing: async () => (await connection()).publishing,
    beginRun() {
      streamChecked = false;
    },
    async endRun() {
      const held = current;
      if (!held || held.link.up) return;
      current = undefined;
      // Nothing to drain over a connection that is down: closed at once.
      await answerWithin(held.nc.close(), settings.publishTimeoutMs).catch(() => undefined);
    },
    // Asked after a round, perhaps with NATS away: each question waits no longer than a publish does, whatever it asks.
    captured: (subject) => answerWithin(asking().then((held) => capturedBy(held, subject)), settings.publishTimeoutMs),
    maxBytes: (subject) => answerWithin(asking().then((held) => maxBytesOf(held, subject)), settings.publishTimeoutMs),
    async close() {
      closed = true;
      const open = current;
      current = undefined;
      if (open) await shut(open.nc, settings.publishTimeoutMs);
      // One still opening is the run's until it arrives: shut here too, so close() ends with nothing open.
      const opening = connecting;
      if (opening) await opening.then(({ nc }) => shut(nc, settings.publishTimeoutMs), () => undefined);
    },
  };
}
