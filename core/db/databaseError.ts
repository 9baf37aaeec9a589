/** The fields of a PostgreSQL error that both drivers expose. */
export interface DatabaseErrorFields {
  code: string;
  detail?: string;
  constraint?: string;
}

// Five digits or capitals, a digit among them: every SQLSTATE (and ours, ES208...) has one.
// Node's system errors have five capitals too (EPIPE, EPERM) and no digit: a socket failing is no answer.
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/;

/** Reads the SQLSTATE and details off a driver error, or undefined if it is not a server error. */
export function asDatabaseError(error: unknown): DatabaseErrorFields | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, detail, constraint } = error as Record<string, unknown>;
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return undefined;
  return {
    code,
    ...(typeof detail === 'string' ? { detail } : {}),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}
