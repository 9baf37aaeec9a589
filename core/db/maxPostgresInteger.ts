/** The largest value of PostgreSQL's `integer` (int4): a bigger one is refused by the database as out of range. */
export const MAX_POSTGRES_INTEGER = 2_147_483_647;
