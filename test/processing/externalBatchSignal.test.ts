import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(3);

// A webhook that takes each request and never answers it.
let webhook: Server;
let url: string;
beforeAll(async () => {
  webhook = createServer(() => undefined);
  await new Promise<void>((listening) => webhook.listen(0, '127.0.0.1', listening));
  url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  webhook.closeAllConnections();
  await new Promise((closed) => webhook.close(closed));
});

describe('an external batch’s signal', () => {
  it('aborts a call that hangs at the batch’s deadline, half a lease in, so the handler can say how far it got', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    const calls: { startedAt: number; endedAt: number; error: unknown }[] = [];
    const processor = onePartitionProcessor('external_signal_hanging_webhook', source, {
      mode: 'external',
      handle: async (items: readonly RecordedEvent[], { signal }) => {
        const startedAt = Date.now();
        try {
          await fetch(url, { method: 'POST', body: JSON.stringify(items[0]?.data), signal });
          return { done: items.length };
        } catch (error) {
          calls.push({ startedAt, endedAt: Date.now(), error });
          return { done: 0, error };
        }
      },
    });
    const leaseTtlMs = 2_000;

    const ran = await runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs, deadline: Date.now() + 3_000, concurrency: 1, interruptionBackoff: { baseMs: 20, maxMs: 40 } });

    expect(ran.items).toBe(0);
    const [first] = calls;
    expect(first?.error).toMatchObject({ name: 'TimeoutError' });
    // Aborted near half a lease from the batch's start, never left hanging to the run's end.
    expect((first?.endedAt ?? Infinity) - (first?.startedAt ?? 0)).toBeLessThan(leaseTtlMs);
    expect((await getProcessorStatus(db(), processor))[0]?.lastError).toMatch(/TimeoutError/);
  });

  it('aborts at a deadline that is no whole number of milliseconds, as half an odd lease is', async () => {
    const { source } = await newStreamSource(db(), [opened()]);
    const signals: AbortSignal[] = [];
    const processor = onePartitionProcessor('external_signal_odd_lease', source, {
      mode: 'external',
      handle: (items: readonly RecordedEvent[], { signal }) => {
        signals.push(signal);
        return Promise.resolve({ done: items.length });
      },
    });

    const ran = await runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs: 2_001, deadline: Date.now() + 3_000.5, concurrency: 1 });

    expect(ran.items).toBe(1);
    expect(signals).toHaveLength(1);
  });

  it('is aborted already when first read past the deadline, so a handler that looks before each item starts none after it', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    const abortedWhenRead: boolean[] = [];
    const processor = onePartitionProcessor('external_signal_read_late', source, {
      mode: 'external',
      handle: async (_items: readonly RecordedEvent[], context) => {
        await new Promise((passed) => setTimeout(passed, Math.max(0, context.deadline - Date.now()) + 20));
        abortedWhenRead.push(context.signal.aborted);
        return { done: 0 };
      },
    });

    await runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs: 400, deadline: Date.now() + 1_000, concurrency: 1 });

    expect(abortedWhenRead.length).toBeGreaterThan(0);
    expect(abortedWhenRead.every(Boolean)).toBe(true);
  });
});
