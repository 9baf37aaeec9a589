import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from '../../core/schema';
import { DomainError } from '../../core/aggregates';
import {
  CommandFailedBeforeError,
  CommandInterruptedError,
  CommandTimeoutError,
  CommandValidationError,
  IdempotencyConflictError,
  UnknownCommandTypeError,
} from '../../core/commands';
import { DatabaseTimeoutError, SchemaNotCurrentError } from '../../core/db';
import { ConcurrencyError, EventValidationError } from '../../core/eventstore';
import { HttpInputError, jsonResponse, type ErrorBody } from './httpResponse';

interface MappedError {
  statusCode: number;
  body: ErrorBody;
}

// The error a failed command recorded (see describeFailure) comes back from the database as JSON.
const RecordedFailure = z.looseObject({ code: z.string() });

/** A resent command that failed before is refused as it was then: a broken rule, an invalid command, or a conflict. */
function failedBeforeStatus(recordedError: unknown): number {
  const recorded = RecordedFailure.safeParse(recordedError);
  const code = recorded.success ? recorded.data.code : undefined;
  if (code === 'DOMAIN_RULE_VIOLATED') return 422;
  if (code === 'VALIDATION_FAILED') return 400;
  return 409;
}

function mapError(error: unknown): MappedError | undefined {
  if (error instanceof HttpInputError) {
    return { statusCode: error.statusCode, body: { code: error.code, message: error.message, details: error.details } };
  }
  if (error instanceof CommandValidationError || error instanceof EventValidationError) {
    return { statusCode: 400, body: { code: 'VALIDATION_FAILED', message: 'The command is invalid', details: { issues: error.issues } } };
  }
  if (error instanceof UnknownCommandTypeError) {
    return { statusCode: 404, body: { code: error.code, message: error.message, details: { commandType: error.commandType } } };
  }
  if (error instanceof IdempotencyConflictError) {
    return { statusCode: 409, body: { code: error.code, message: error.message, details: { commandId: error.commandId } } };
  }
  if (error instanceof CommandFailedBeforeError) {
    const details = { commandId: error.commandId, error: error.recordedError };
    return { statusCode: failedBeforeStatus(error.recordedError), body: { code: error.code, message: error.message, details } };
  }
  if (error instanceof ConcurrencyError) {
    const details = { streamId: error.streamId, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion };
    return { statusCode: 409, body: { code: error.code, message: 'The aggregate kept changing; try again', details } };
  }
  if (error instanceof DomainError) {
    return { statusCode: 422, body: { code: error.code, message: error.message, details: { rule: error.rule, ...error.details } } };
  }
  if (error instanceof SchemaNotCurrentError) {
    // The deployment is half done (the Migrator has not run yet): worth retrying soon, not a bug to hide.
    return { statusCode: 503, body: { code: error.code, message: 'The service is being upgraded; try again shortly', details: {} } };
  }
  if (error instanceof CommandTimeoutError) {
    // Its outcome is unknown (the unanswered statement may have committed): sent again by its id, it is kept once.
    const message = 'The database did not answer in time; send the command again with this commandId shortly';
    return { statusCode: 503, body: { code: error.code, message, details: { commandId: error.commandId, waitingFor: error.waitingFor } } };
  }
  if (error instanceof CommandInterruptedError) {
    // As a timeout: the command may have been kept before its connection was lost.
    const message = 'A connection was lost while the command ran; it may have been kept: send it again with this commandId shortly';
    return { statusCode: 503, body: { code: error.code, message, details: { commandId: error.commandId } } };
  }
  if (error instanceof DatabaseTimeoutError) {
    return { statusCode: 503, body: { code: 'DATABASE_TIMEOUT', message: 'The database did not answer in time; try again shortly', details: { waitingFor: error.waitingFor } } };
  }
  return undefined;
}

/**
 * The HTTP answer to a failure: client errors with their code and details;
 * anything else a 500 that reveals nothing (the caller logs it).
 */
export function errorResponse(error: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  const mapped = mapError(error) ?? {
    statusCode: 500,
    body: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side', details: {} },
  };
  return jsonResponse(mapped.statusCode, mapped.body, headers);
}
