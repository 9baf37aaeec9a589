/**
 * The longest retention a variable in hours may set: ten years, longer than any
 * replay needs. Without a bound, a value too large for PostgreSQL to subtract
 * from now() failed every run of the cleanup it drives.
 */
export const MAX_RETENTION_HOURS = 87_600;
