import type { NeonConfig } from '@neondatabase/serverless';
import type { ClientOptions } from 'ws';
import type { DatabaseBounds } from './DatabaseBounds';
import type { Db } from './Db';
import { connectWithinBound, type ConnectCallback } from './connectWithinBound';
import { poolDb } from './poolDb';

/**
 * A closed WebSocket waits for the other end's close frame before its socket
 * ends, 30 s by default, and the driver reports a connection ended only then: a
 * client given up on at its connect or query bound held its caller (or the
 * pool's next one) that long when the other end said nothing at all.
 */
const WEBSOCKET_CLOSE_TIMEOUT_MS = 1_000;

export interface NeonDbOptions extends DatabaseBounds {
  connectionString: string;
  max?: number;
  /** Off by default: Neon's pooled endpoints run PgBouncer in transaction mode. */
  preparedStatements?: boolean;
  /**
   * Driver settings for this pool only (for example `wsProxy`,
   * `useSecureWebSocket: false` and `pipelineConnect: false` to reach a plain
   * PostgreSQL through a WebSocket-to-TCP proxy).
   */
  neon?: Partial<Pick<NeonConfig, 'wsProxy' | 'useSecureWebSocket' | 'pipelineConnect' | 'pipelineTLS' | 'forceDisablePgSSL' | 'coalesceWrites'>>;
}

/**
 * The `Db` port on `@neondatabase/serverless`: node-postgres semantics over a
 * WebSocket. The driver and `ws` are imported here, when a Neon pool is made,
 * so a process (and a function bundle) using another driver never loads them.
 */
export async function createNeonDb(options: NeonDbOptions): Promise<Db> {
  const { Client, Pool } = await import('@neondatabase/serverless');
  const { default: ws } = await import('ws');
  const settings = options.neon ?? {};
  const connectTimeoutMs = options.connectTimeoutMs ?? 0;
  const queryTimeoutMs = options.queryTimeoutMs ?? 0;
  // `closeTimeout` is ws's own option, which its type declarations leave out.
  const closing: ClientOptions & { closeTimeout: number } = { closeTimeout: WEBSOCKET_CLOSE_TIMEOUT_MS };
  class PromptlyClosingWebSocket extends ws {
    constructor(address: string | URL) {
      super(address, closing);
    }
  }
  const bounded = connectTimeoutMs > 0 || queryTimeoutMs > 0;
  // On the client, not the pool, as for pg (createPgDb): the wait for a pooled connection stays unbounded.
  class ConfiguredClient extends Client {
    constructor(config?: ConstructorParameters<typeof Client>[0]) {
      super(typeof config === 'object' ? { ...config, connectionTimeoutMillis: connectTimeoutMs } : config);
      // Node 20 has no global WebSocket; Lambda's Node 22 does, but `ws` is faster.
      this.neonConfig.webSocketConstructor = bounded ? PromptlyClosingWebSocket : ws;
      Object.assign(this.neonConfig, settings);
    }

    override connect(): Promise<void>;
    override connect(callback: ConnectCallback<void>): void;
    override connect(callback?: ConnectCallback<void>): Promise<void> | undefined {
      return connectWithinBound(() => super.connect(), connectTimeoutMs, callback);
    }
  }
  // The driver's Pool pins its own Client class as a field, overriding the `Client` option.
  class ConfiguredPool extends Pool {
    override Client = ConfiguredClient;
  }
  const pool = new ConfiguredPool({ connectionString: options.connectionString, max: options.max ?? 10 });
  pool.on('error', () => undefined);
  return poolDb(pool, { preparedStatements: options.preparedStatements ?? false, queryTimeoutMs });
}
