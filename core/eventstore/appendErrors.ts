import { asDatabaseError } from '../db';
import {
  AppendNotFirstWriteError,
  CommandAlreadyRecordedError,
  ConcurrencyError,
  DuplicateEventError,
  EventValidationError,
  StreamNotFoundError,
  StreamTypeMismatchError,
} from './errors';
import type { AppendRequest } from './types';

/** Turns the SQLSTATEs raised by `append_to_stream` into typed errors; other errors pass through. */
export function toAppendError(error: unknown, request: AppendRequest): unknown {
  const dbError = asDatabaseError(error);
  if (!dbError) return error;
  switch (dbError.code) {
    case 'ES409':
      return new ConcurrencyError(request.streamId, request.expectedVersion, Number(dbError.detail ?? 0));
    case 'ES404':
      return new StreamNotFoundError(request.streamId);
    case 'ES422':
      return new StreamTypeMismatchError(request.streamId, dbError.detail ?? '', request.streamType);
    case 'ES208':
      return new CommandAlreadyRecordedError(dbError.detail ?? request.idempotency?.commandId ?? '');
    case 'ES412':
      return new AppendNotFirstWriteError(request.streamId);
    case 'ES400':
      return new EventValidationError([{ path: '(request)', message: (error as Error).message }]);
    case '23505':
      return dbError.constraint === 'events_event_id_key' ? new DuplicateEventError(request.streamId) : error;
    default:
      return error;
  }
}
