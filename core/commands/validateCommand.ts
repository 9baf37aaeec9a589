import * as z from '../schema';
import { findUnstorableText, nestedTooDeep } from '../text';
import { carriedAsHeader } from '../eventstore';
import { buildCommandContext } from './commandContext';
import type { CommandDefinition } from './CommandDefinition';
import { CommandValidationError, UnknownCommandTypeError, type FieldIssue } from './errors';
import { payloadHash } from './payloadHash';
import type { CommandEnvelope } from './pipeline';

/** A command as it arrives from outside: nothing about it is trusted yet. */
export interface CommandRequest {
  type: string;
  payload: unknown;
  commandId?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
  /**
   * The caller made `commandId` for this very call and never sent it before
   * (a saga step's first dispatch): like an id the bus creates, its first try
   * skips looking up a record that cannot exist. A wrong claim costs nothing
   * but the lookup: the append still refuses an id already recorded.
   */
  freshCommandId?: boolean | undefined;
}

// The ids go on every event the command appends, and from there into NATS headers.
const Id = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(200, 'must be at most 200 characters'),
  z.refine(carriedAsHeader, 'must not have whitespace at either end or a line break: it is carried in NATS headers'),
);
const RequestIds = z.object({
  commandId: z.optional(Id),
  correlationId: z.optional(Id),
  causationId: z.optional(Id),
  // Not a field to refuse: an invalid or over-long one is replaced by a fresh trace (see buildCommandContext).
  traceparent: z.optional(z.string()),
});

type RequestIdFields = z.infer<typeof RequestIds>;

const fits = (value: unknown, max: number) => value === undefined || (typeof value === 'string' && value.length >= 1 && value.length <= max && carriedAsHeader(value));

/** The ids checked by hand when they plainly fit (most requests), by zod otherwise, for its messages. */
function parseIds(request: CommandRequest): { success: true; data: RequestIdFields } | { success: false; error: z.core.$ZodError } {
  const { commandId, correlationId, causationId, traceparent } = request;
  if (fits(commandId, 200) && fits(correlationId, 200) && fits(causationId, 200) && (traceparent === undefined || typeof traceparent === 'string')) {
    return {
      success: true,
      data: {
        ...(commandId === undefined ? {} : { commandId }),
        ...(correlationId === undefined ? {} : { correlationId }),
        ...(causationId === undefined ? {} : { causationId }),
        ...(traceparent === undefined ? {} : { traceparent }),
      },
    };
  }
  return RequestIds.safeParse(request);
}

const issuesOf = (error: z.core.$ZodError, prefix: string[] = []): FieldIssue[] =>
  error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.') || '(payload)',
    message: issue.message,
  }));

/**
 * Finds the command's definition and checks its payload and ids, reporting
 * every invalid field at once; the result carries the parsed payload.
 */
export function validateCommand(registry: ReadonlyMap<string, CommandDefinition>, request: CommandRequest): CommandEnvelope {
  const definition = registry.get(request.type);
  if (!definition) throw new UnknownCommandTypeError(request.type);
  const ids = parseIds(request);
  // Refused before its schema reads it: a recursive schema (z.json(), z.lazy) recurses
  // once per level, and runs out of stack on a payload nested deep enough.
  if (nestedTooDeep(request.payload)) {
    throw new CommandValidationError([...(ids.success ? [] : issuesOf(ids.error)), ...findUnstorableText(request.payload)]);
  }
  const payload = z.safeParse(definition.schema, request.payload);
  // Both are stored (the ids on events and records, the payload with a pending command) as PostgreSQL text.
  const issues = [
    ...(ids.success ? findUnstorableText(ids.data) : issuesOf(ids.error)),
    ...(payload.success ? findUnstorableText(payload.data) : issuesOf(payload.error)),
  ];
  if (!ids.success || !payload.success || issues.length > 0) throw new CommandValidationError(issues);
  return {
    context: buildCommandContext(ids.data),
    definition,
    payload: payload.data,
    payloadHash: payloadHash(definition.type, payload.data),
    commandIdFrom: ids.data.commandId === undefined || request.freshCommandId === true ? 'bus' : 'caller',
    attempt: 1,
    record: 'none',
  };
}
