import type { Db } from './Db';

/**
 * A Db whose adapter is opened on first use: for drivers loaded only when
 * configured (Neon and its WebSocket), so a function using another driver
 * neither loads nor bundles them.
 */
export function lazyDb(open: () => Promise<Db>): Db {
  let opened: Promise<Db> | undefined;
  const db = () => {
    opened ??= open();
    return opened;
  };
  return {
    query: async (text, params, options) => (await db()).query(text, params, options),
    transaction: async (work, options) => (await db()).transaction(work, options),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}
