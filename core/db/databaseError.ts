/** The fields of a PostgreSQL error that both drivers expose. */
export interface DatabaseErrorFields {
  code: string;
  detail?: string;
  constraint?: string;
}

/** Reads the SQLSTATE and details off a driver error, or undefined if it is not a server error. */
export function asDatabaseError(error: unknown): DatabaseErrorFields | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, detail, constraint } = error as Record<string, unknown>;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return {
    code,
    ...(typeof detail === 'string' ? { detail } : {}),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}
