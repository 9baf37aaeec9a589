import * as z from '../../schema';

/** What the worker Lambda is invoked with: only the id, since the command itself is in the database. */
export const WorkerEventSchema = z.object({ commandId: z.string().check(z.minLength(1), z.maxLength(200)) });

export type WorkerEvent = z.infer<typeof WorkerEventSchema>;

/** For the worker's handler: the event checked, since anything may invoke a function. */
export function parseWorkerEvent(event: unknown): WorkerEvent {
  return WorkerEventSchema.parse(event);
}
