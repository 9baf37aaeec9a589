import { messageBytes, type PublishMessage } from './PublishMessage';

/**
 * "Is this message larger than all its stream may hold?" for one publisher run,
 * asked after a refusal for room. A limit is kept for the run while it keeps a
 * message retried; "larger" parks a message for good, so it is asked again
 * first (the limit may have been raised since the kept answer). A question that
 * failed (NATS away) is not kept.
 */
export function streamRoomForRun(maxBytes: (subject: string) => Promise<number | undefined>): (message: PublishMessage) => Promise<boolean> {
  const kept = new Map<string, Promise<number | undefined>>();
  const ask = (subject: string): Promise<number | undefined> => {
    const asked: Promise<number | undefined> = maxBytes(subject).catch((error: unknown) => {
      if (kept.get(subject) === asked) kept.delete(subject);
      throw error;
    });
    kept.set(subject, asked);
    return asked;
  };
  return async (message) => {
    const larger = (limit: number | undefined) => limit !== undefined && messageBytes(message) > limit;
    const known = kept.get(message.subject);
    if (known === undefined) return larger(await ask(message.subject));
    if (!larger(await known)) return false;
    // Another message's fresh question since, if any, is as good as this one's.
    const latest = kept.get(message.subject);
    return larger(await (latest !== undefined && latest !== known ? latest : ask(message.subject)));
  };
}
