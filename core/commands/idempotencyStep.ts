import type { Queryable } from '../db';
import { CommandAlreadyRecordedError } from '../eventstore';
import type { CommandOutcome } from './CommandOutcome';
import { findCommand, recordOutcome, type CommandRecord } from './commandRecords';
import { CommandFailedBeforeError, IdempotencyConflictError } from './errors';
import type { CommandEnvelope, CommandStep, RunCommand } from './pipeline';

/** The stored answer for a command id, or undefined if the command still has to run. */
function answerFrom(record: CommandRecord, envelope: CommandEnvelope): CommandOutcome | undefined {
  const { commandId } = envelope.context;
  if (record.commandType !== envelope.definition.type || record.payloadHash !== envelope.payloadHash) {
    throw new IdempotencyConflictError(commandId);
  }
  if (record.status === 'failed') throw new CommandFailedBeforeError(commandId, record.error);
  if (record.status === 'pending' || !record.outcome) return undefined;
  return { ...record.outcome, commandId, commandType: record.commandType, replayed: true };
}

/**
 * Only a command that may have run before needs its record looked up: one whose
 * id the caller chose (it may be a resend), or any retry (the earlier try may
 * have committed and lost only the reply). The first try of an id the bus just
 * created cannot have run, so it saves that round trip; the append still
 * refuses a recorded id, so even a wrong guess here could not apply it twice.
 */
const mayHaveRun = (envelope: CommandEnvelope) => envelope.commandIdFrom === 'caller' || envelope.attempt > 1;

/**
 * Idempotency by command id: a command whose id has an outcome is answered from
 * it without running; otherwise it runs and its outcome is stored in the same
 * transaction as its events. Of two identical commands racing, the loser's
 * append finds the winner's outcome and replays it, so there is one effect.
 */
export function idempotencyStep(db: Queryable): CommandStep {
  return async (envelope: CommandEnvelope, next: RunCommand) => {
    const { commandId, correlationId } = envelope.context;
    const replay = async () => {
      const record = await findCommand(db, commandId);
      return record ? answerFrom(record, envelope) : undefined;
    };
    const stored = mayHaveRun(envelope) ? await replay() : undefined;
    if (stored) return stored;
    try {
      const outcome = await next(envelope);
      if (outcome.events.length === 0) {
        const { streamId, version, events } = outcome;
        const record = { commandId, commandType: envelope.definition.type, payloadHash: envelope.payloadHash, correlationId };
        await recordOutcome(db, record, { streamId, version, events });
      }
      return outcome;
    } catch (error) {
      if (!(error instanceof CommandAlreadyRecordedError)) throw error;
      const answer = await replay();
      if (!answer) throw error;
      return answer;
    }
  };
}
