import { describe, expect, it } from 'vitest';
import { correlationStory, storyIndexer } from '../../core/browser';
import { getProcessorLag } from '../../core/processing';
import { handler as commandSweeper } from '../../functions/commandSweeper';
import { getRuntime } from '../../functions/runtime';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { untilFeedHorizonPasses } from '../support/feedHorizon';

useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined } });

const waitingToBeIndexed = async () => {
  const { db } = await getRuntime();
  return (await getProcessorLag(db, storyIndexer)).waiting.reduce((total, partition) => total + partition.items, 0);
};

describe("the command sweeper function indexes the browser's stories", () => {
  it("given commands that stored events, its run leaves none of them waiting for the story index, and each request's story reads as before", async () => {
    const runtime = await getRuntime();
    const { db, bus } = runtime;
    await bus.execute({ type: 'OpenAccount', payload: { accountId: 'acc-story', owner: 'Ada', currency: 'EUR' } });
    const deposit = await bus.execute({ type: 'Deposit', payload: { accountId: 'acc-story', amount: 25 } });
    await untilFeedHorizonPasses(db);
    expect(await waitingToBeIndexed()).toBe(2);
    const { rows } = await db.query<{ correlation_id: string }>("SELECT metadata ->> 'correlationId' AS correlation_id FROM events WHERE stream_id = 'account-acc-story' AND version = 2");
    const correlationId = rows[0]?.correlation_id ?? '';
    const before = await correlationStory(runtime.browser, correlationId);

    await commandSweeper({}, lambdaContext('CommandSweeper'));

    expect(await waitingToBeIndexed()).toBe(0);
    const after = await correlationStory(runtime.browser, correlationId);
    expect(after.events.map((event) => event.eventId)).toEqual(before.events.map((event) => event.eventId));
    expect(after.events).toMatchObject([{ type: 'MoneyDeposited', version: 2, eventId: deposit.events[0]?.eventId }]);
  }, 20_000);
});
