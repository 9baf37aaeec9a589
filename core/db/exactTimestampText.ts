/**
 * SQL that writes a timestamptz expression as ISO 8601 text in UTC, to the
 * microsecond, as PostgreSQL stores it: read back as a timestamptz under any
 * DateStyle or time zone, it is the same instant. A Date holds milliseconds
 * only, so a cursor or a "read at" carried through one would fall short of
 * rows stored within the same millisecond.
 */
export const exactTimestampText = (expression: string): string => `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
