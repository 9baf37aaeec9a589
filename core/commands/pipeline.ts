import type { CommandContext } from './commandContext';
import type { CommandDefinition } from './CommandDefinition';
import type { CommandOutcome } from './CommandOutcome';

/** A validated command on its way through the pipeline. */
export interface CommandEnvelope {
  context: CommandContext;
  definition: CommandDefinition;
  /** The payload as the schema parsed it. */
  payload: unknown;
  payloadHash: string;
  /** Who chose the command id: a caller may send it again, while an id the bus created (or a caller vouches is new) is new to the world. */
  commandIdFrom: 'caller' | 'bus';
  /** Which try this is, from 1; the retry step counts. */
  attempt: number;
  /** What the command's record was when this try began: none, or a sent command's pending one (the idempotency step looks). */
  record: 'none' | 'pending';
}

export type RunCommand = (envelope: CommandEnvelope) => Promise<CommandOutcome>;

/** One piece of the pipeline: does its part around `next` (retry, idempotency, logging, metrics...). */
export type CommandStep = (envelope: CommandEnvelope, next: RunCommand) => Promise<CommandOutcome>;

/** Chains steps around the final runner; the first step is the outermost. */
export function composeSteps(steps: readonly CommandStep[], run: RunCommand): RunCommand {
  return steps.reduceRight<RunCommand>((next, step) => (envelope) => step(envelope, next), run);
}
