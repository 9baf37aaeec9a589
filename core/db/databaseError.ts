/** The fields of a PostgreSQL error that both drivers expose. */
export interface DatabaseErrorFields {
  code: string;
  detail?: string;
  constraint?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Reads the SQLSTATE and details off a driver error, or undefined if it is not a server error. */
export function asDatabaseError(error: unknown): DatabaseErrorFields | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, detail, constraint, syscall, errno } = error as Record<string, unknown>;
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return undefined;
  // Node's system errors name themselves in five capitals too (EPIPE, EPERM): a socket failing is no answer.
  if (typeof syscall === 'string' || typeof errno === 'number') return undefined;
  return {
    code,
    ...(typeof detail === 'string' ? { detail } : {}),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}
