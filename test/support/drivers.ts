import { createPgDb, type DatabaseBounds, type Db } from '../../core/db';
import { lazyDb } from '../../core/db/lazyDb';
import { createNeonDb } from '../../core/db/neonDb';
import { startWsTcpProxy, type WsTcpProxy } from './wsTcpProxy';

export type DriverName = 'pg' | 'neon';

export interface DriverHarness {
  name: DriverName;
  connect(url: string, max?: number, bounds?: DatabaseBounds): Db;
  close(): Promise<void>;
}

/** Opens `Db` adapters for a driver; the Neon one goes through a local WebSocket pipe. */
export async function startDriver(name: DriverName): Promise<DriverHarness> {
  if (name === 'pg') {
    return { name, connect: (url, max, bounds) => createPgDb({ connectionString: url, max: max ?? 20, ...bounds }), close: async () => {} };
  }
  const proxy: WsTcpProxy = await startWsTcpProxy();
  return {
    name,
    connect: (url, max, bounds) =>
      lazyDb(() => createNeonDb({
        connectionString: url,
        max: max ?? 20,
        ...bounds,
        neon: {
          wsProxy: (host, port) => `127.0.0.1:${proxy.port}/v2?address=${host}:${port}`,
          useSecureWebSocket: false,
          pipelineConnect: false,
          pipelineTLS: false,
          forceDisablePgSSL: true,
        },
      })),
    close: () => proxy.close(),
  };
}
