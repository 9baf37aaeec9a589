import { describe, expect, it } from 'vitest';
import { createInProcessDispatcher } from '../../../core/commands';

describe('the in-process dispatcher', () => {
  it('resolves before the run starts, and drain waits for the run', async () => {
    const events: string[] = [];
    const dispatcher = createInProcessDispatcher(async (commandId) => {
      events.push(`start ${commandId}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      events.push(`end ${commandId}`);
    });
    await dispatcher.dispatch('a');
    events.push('answered');
    await dispatcher.drain();
    expect(events).toEqual(['answered', 'start a', 'end a']);
  });

  it('reports a failed run instead of throwing it, even when the reporter itself throws', async () => {
    const reported: string[] = [];
    const failing = createInProcessDispatcher(() => Promise.reject(new Error('worker crashed')), {
      onError: (error, commandId) => reported.push(`${commandId}: ${(error as Error).message}`),
    });
    await expect(failing.dispatch('b')).resolves.toBeUndefined();
    await failing.drain();
    expect(reported).toEqual(['b: worker crashed']);

    const brokenReporter = createInProcessDispatcher(() => Promise.reject(new Error('worker crashed')), {
      onError: () => {
        throw new Error('logger down');
      },
    });
    await brokenReporter.dispatch('c');
    await expect(brokenReporter.drain()).resolves.toBeUndefined();
  });

  it('drains runs dispatched by runs', async () => {
    const ran: string[] = [];
    const dispatcher = createInProcessDispatcher(async (commandId) => {
      ran.push(commandId);
      if (commandId === 'parent') await dispatcher.dispatch('child');
    });
    await dispatcher.dispatch('parent');
    await dispatcher.drain();
    expect(ran).toEqual(['parent', 'child']);
  });
});
