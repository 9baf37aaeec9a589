import { expect, it } from 'vitest';
import { describeOnEachDriver } from '../../support/describeOnEachDriver';
import { asyncSpecKit, givenOpenAccount, newId, waitForStatus } from './asyncHarness';

describeOnEachDriver('running sent commands', (context) => {
  const { inProcess, bus, typesOf } = asyncSpecKit(context);

  it('answers pending at once, and the in-process worker then makes the command succeed', async () => {
    let release = () => {};
    const { commands } = inProcess(new Promise<void>((resolve) => (release = resolve)));
    const accountId = newId();
    const commandId = newId();
    try {
      const sent = await commands.send({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' }, commandId });
      expect(sent).toEqual({ commandId, status: 'pending' });
      expect(await commands.getCommandStatus(commandId)).toMatchObject({ commandType: 'OpenAccount', status: 'pending', attempts: 0 });
      expect(await typesOf(accountId)).toEqual([]);
    } finally {
      release();
    }
    const done = await waitForStatus(commands, commandId);
    expect(done).toMatchObject({ status: 'succeeded', outcome: { streamId: `account-${accountId}`, version: 1 } });
    expect(done?.error).toBeUndefined();
    expect(Date.parse(done?.updatedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done?.createdAt ?? ''));
    expect(await typesOf(accountId)).toEqual(['AccountOpened']);
  });

  it('ends with the outcome execute gives, and the events carry the sent ids', async () => {
    const { commands } = inProcess();
    const accountId = await givenOpenAccount(bus());
    const request = { type: 'Deposit', payload: { accountId, amount: 30 }, commandId: newId(), correlationId: 'request-42' };
    await commands.send(request);
    const status = await waitForStatus(commands, request.commandId);
    expect(status?.status).toBe('succeeded');
    const executed = await bus().execute(request);
    expect(executed).toEqual({ ...status?.outcome, commandId: request.commandId, commandType: 'Deposit', replayed: true });
    const deposits = (await context().store.readStream(`account-${accountId}`)).events.filter((event) => event.type === 'MoneyDeposited');
    expect(deposits).toHaveLength(1);
    expect(deposits[0]?.eventId).toBe(executed.events[0]?.eventId);
    expect(deposits[0]?.metadata).toEqual({
      correlationId: 'request-42',
      causationId: request.commandId,
      commandId: request.commandId,
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) as unknown,
    });
  });

  it('records a broken business rule as failed, with its rule and details, and writes no event', async () => {
    const { commands } = inProcess();
    const accountId = await givenOpenAccount(bus(), 10);
    const commandId = newId();
    await commands.send({ type: 'Withdraw', payload: { accountId, amount: 11 }, commandId });
    const status = await waitForStatus(commands, commandId);
    expect(status).toMatchObject({ status: 'failed', attempts: 0 });
    expect(status?.error).toEqual({
      code: 'DOMAIN_RULE_VIOLATED',
      message: 'no overdraft',
      rule: 'INSUFFICIENT_FUNDS',
      details: { balance: 10, requested: 11 },
    });
    expect(status?.outcome).toBeUndefined();
    expect(await typesOf(accountId)).toEqual(['AccountOpened', 'MoneyDeposited']);
    // Sent again, it is answered from the record, not run.
    expect(await commands.send({ type: 'Withdraw', payload: { accountId, amount: 11 }, commandId })).toEqual({ commandId, status: 'failed' });
  });

  it('records the outcome of a command that decided nothing', async () => {
    const { commands } = inProcess();
    const accountId = await givenOpenAccount(bus());
    await bus().execute({ type: 'CloseAccount', payload: { accountId } });
    const commandId = newId();
    await commands.send({ type: 'CloseAccount', payload: { accountId }, commandId });
    expect(await waitForStatus(commands, commandId)).toMatchObject({ status: 'succeeded', outcome: { version: 2, events: [] } });
  });
});
