import pg from 'pg';
import type { DatabaseBounds } from './DatabaseBounds';
import type { Db } from './Db';
import { connectWithinBound, type ConnectCallback } from './connectWithinBound';
import { poolDb } from './poolDb';
import { sendCancelRequest } from './cancelRequest';

// A cancel's own connection, when no connect bound is set, is dropped after this.
const CANCEL_REQUEST_TIMEOUT_MS = 5_000;

export interface PgDbOptions extends DatabaseBounds {
  connectionString: string;
  /** Pool size; keep it small on Lambda, where each instance holds its own pool. */
  max?: number;
  idleTimeoutMillis?: number;
  /** Prepare hot statements once per connection (default true); turn off behind a transaction-mode pooler. */
  preparedStatements?: boolean;
}

/** The `Db` port on node-postgres, over TCP. */
export function createPgDb(options: PgDbOptions): Db {
  const connectTimeoutMs = options.connectTimeoutMs ?? 0;
  // On the client, not the pool: the pool's own option would also bound the wait for a
  // pooled connection, which busy partitions of a small Lambda pool can rightly make long.
  class BoundedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectTimeoutMs });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback<pg.Client>): void;
    override connect(callback?: ConnectCallback<pg.Client>): Promise<pg.Client> | undefined {
      return connectWithinBound(() => super.connect(), connectTimeoutMs, callback);
    }

    cancelInFlight(): Promise<void> {
      const { processID, secretKey } = this as unknown as { processID: number | null; secretKey: number | null };
      if (processID === null || secretKey === null) return Promise.resolve();
      return sendCancelRequest({ host: this.host, port: this.port, processID, secretKey }, connectTimeoutMs || CANCEL_REQUEST_TIMEOUT_MS);
    }
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    Client: BoundedClient,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return poolDb(pool, { preparedStatements: options.preparedStatements ?? true, queryTimeoutMs: options.queryTimeoutMs ?? 0 });
}
