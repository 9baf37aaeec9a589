import { JetStreamApiError, JetStreamError, PubHeaders } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  createInbox,
  InvalidArgumentError,
  InvalidSubjectError,
  headers as natsHeaders,
  NoRespondersError,
  PermissionViolationError,
  TimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import { isExpectationHeader } from '../eventstore';
import * as z from '../schema';
import type { PublishMessage } from './PublishMessage';

/**
 * What became of one publish: stored (or already stored: a duplicate), refused
 * by NATS (the refusal says why: see refusals.ts), or unanswered.
 */
export type PublishResult =
  | { kind: 'published'; message: PublishMessage; duplicate: boolean; latencyMs: number }
  | { kind: 'refused'; message: PublishMessage; error: unknown }
  | { kind: 'unreachable'; message: PublishMessage; error: unknown };

export interface JetStreamPublishing {
  /**
   * Sends every message at once and settles when each one is acknowledged,
   * refused, or still unanswered after `timeoutMs` (then "unreachable"). Only
   * JetStream's answers count: a plain subscriber's reply waits for JetStream's.
   */
  publishAll(messages: readonly PublishMessage[], timeoutMs: number): Promise<PublishResult[]>;
}

// JetStream's answer to a publish: the stored position, or why it was not stored
// (servers before 2.2 sent no err_code; 0 matches none of the codes).
const publishAnswer = z.union([
  z.object({ error: z.object({ code: z.number(), err_code: z._default(z.number(), 0), description: z.string() }) }),
  z.object({ stream: z.string().check(z.minLength(1)), seq: z.number(), duplicate: z.optional(z.boolean()) }),
]);

type Reply = Msg | Error;

/**
 * JetStream publishes on one connection, their acknowledgements collected by a
 * single inbox subscription and bounded by one timer per call.
 *
 * `js.publish` is a request per message: its own timer, promise and reply
 * routing, and an Error object built after every successful reply. At
 * thousands of messages a second that was a fifth of the publisher's CPU,
 * which the database's share then had to compete with. The protocol is the
 * same either way: a publish with a reply subject, answered with a PubAck.
 */
export function jetStreamPublishing(nc: NatsConnection, inboxPrefix: string): JetStreamPublishing {
  const inbox = createInbox(inboxPrefix);
  // Each waiting publish by its token: told every reply, it says whether that reply settled it.
  const awaiting = new Map<string, (reply: Reply) => boolean>();
  // The tokens waiting on each subject, for a refusal that names only the subject.
  const bySubject = new Map<string, Set<string>>();
  let nextToken = 0;
  const forget = (token: string, subject: string) => {
    awaiting.delete(token);
    const tokens = bySubject.get(subject);
    tokens?.delete(token);
    if (tokens?.size === 0) bySubject.delete(subject);
  };

  const settleAll = (error: Error) => {
    const waiting = [...awaiting.values()];
    awaiting.clear();
    bySubject.clear();
    for (const settle of waiting) settle(error);
  };
  // A publish the user may not make is dropped by the server, which says so only in
  // an -ERR naming the subject: without this, each would wait out the timeout, and
  // the partition's error would say "timeout" where the fix is a permission.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'error' || !(status.error instanceof PermissionViolationError) || status.error.operation !== 'publish') continue;
      for (const token of [...(bySubject.get(status.error.subject) ?? [])]) awaiting.get(token)?.(status.error);
    }
  })();
  const subscribeToReplies = () =>
    nc.subscribe(`${inbox}.*`, {
      callback: (error, reply) => {
        if (error) {
          settleAll(error);
          return;
        }
        const token = reply.subject.slice(inbox.length + 1);
        awaiting.get(token)?.(reply);
      },
    });
  // The server closes the subscription on a permission violation, and the connection
  // lives on: without a new one every later publish would go unanswered.
  let replies = subscribeToReplies();
  void nc.closed().then(() => {
    settleAll(new ClosedConnectionError());
  });

  return {
    publishAll(messages, timeoutMs) {
      if (messages.length === 0) return Promise.resolve([]);
      if (replies.isClosed() && !nc.isClosed() && !nc.isDraining()) replies = subscribeToReplies();
      return new Promise((resolve) => {
        const results = new Array<PublishResult | undefined>(messages.length);
        // Messages a plain subscriber answered, JetStream not (yet).
        const answeredByOthers = new Set<number>();
        const tokens: string[] = [];
        let unsettled = messages.length;
        const finish = () => {
          resolve(Array.from(results, (result, index) => result ?? unanswered(messages[index] as PublishMessage, answeredByOthers.has(index))));
        };
        const timer = setTimeout(() => {
          tokens.forEach((token, index) => {
            forget(token, (messages[index] as PublishMessage).subject);
          });
          finish();
        }, timeoutMs);
        const settle = (index: number, result: PublishResult) => {
          results[index] = result;
          if (--unsettled > 0) return;
          clearTimeout(timer);
          finish();
        };
        messages.forEach((message, index) => {
          const token = (nextToken++).toString(36);
          const sentAt = performance.now();
          tokens.push(token);
          const waitingOnSubject = bySubject.get(message.subject) ?? new Set<string>();
          bySubject.set(message.subject, waitingOnSubject.add(token));
          awaiting.set(token, (reply) => {
            const answer = readAnswer(message, reply, sentAt);
            // A plain subscriber of a subject a stream captures can answer first (the stream
            // on a server further away): taken as the answer, the message would be sent
            // again for ever, and its key held back. JetStream's answer settles it.
            if (answer === undefined) {
              answeredByOthers.add(index);
              return false;
            }
            forget(token, message.subject);
            settle(index, answer);
            return true;
          });
          try {
            nc.publish(message.subject, message.payload, { reply: `${inbox}.${token}`, headers: messageHeaders(message) });
          } catch (error) {
            // Refused before sending (too large, a bad subject) or no connection to send on.
            forget(token, message.subject);
            const refused = error instanceof InvalidArgumentError || error instanceof InvalidSubjectError;
            settle(index, { kind: refused ? 'refused' : 'unreachable', message, error });
          }
        });
      });
    },
  };
}

function messageHeaders(message: PublishMessage): MsgHdrs {
  const headers = natsHeaders();
  // The server drops a message whose id it has seen within the duplicate window. It goes
  // first: nats-server 2.9 finds it by the first match of its name anywhere in the header
  // block, so a header before it naming it (in its name or value) would hide the id.
  // An integration message's expectations come next, for the same reason.
  headers.set(PubHeaders.MsgIdHdr, message.messageId);
  const entries = Object.entries(message.headers);
  for (const [name, value] of entries) if (isExpectationHeader(name)) headers.set(name, value);
  for (const [name, value] of entries) if (!isExpectationHeader(name)) headers.set(name, value);
  return headers;
}

/** No answer of JetStream's in time: only a plain subscriber's (refusals.ts asks whether any stream captures the subject), or none. */
const unanswered = (message: PublishMessage, answeredByOthers: boolean): PublishResult => ({
  kind: 'unreachable',
  message,
  error: answeredByOthers ? new JetStreamError('invalid publish acknowledgement') : new TimeoutError(),
});

/** What a reply says of a publish; undefined for a reply that is not JetStream's (nor NATS's own "no responders"). */
function readAnswer(message: PublishMessage, reply: Reply, sentAt: number): PublishResult | undefined {
  // The user may not publish there; one denied its inbox subscription (`operation` 'subscription') waits to be let in again.
  if (reply instanceof PermissionViolationError && reply.operation === 'publish') return { kind: 'refused', message, error: reply };
  if (reply instanceof Error) return { kind: 'unreachable', message, error: reply };
  // No stream captures the subject, or JetStream is not running: refusals.ts tells which.
  if (reply.data.length === 0 && reply.headers?.code === 503) {
    return { kind: 'refused', message, error: new NoRespondersError(message.subject) };
  }
  const answer = parseAnswer(reply);
  if (!answer) return undefined;
  if ('error' in answer) return { kind: 'refused', message, error: new JetStreamApiError(answer.error) };
  return { kind: 'published', message, duplicate: answer.duplicate ?? false, latencyMs: performance.now() - sentAt };
}

function parseAnswer(reply: Msg): z.infer<typeof publishAnswer> | undefined {
  try {
    return publishAnswer.parse(reply.json());
  } catch {
    return undefined;
  }
}
