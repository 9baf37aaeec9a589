import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { parkMessages } from '../../core/publishing';
import { startDevServer, type DevServer } from '../../functions/local';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { untilTransferCompleted } from '../support/transferCompleted';

// Debian's chromium (.ci/run installs it when missing), or the one CHROMIUM_PATH names.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../.artifacts/browser/', import.meta.url));

/** Has the page's requests to `pattern` answered 1.5 s late (a slow database); settles once the first is. */
function answeredLate(page: Page, pattern: string): Promise<void> {
  return new Promise<void>((resolve) => {
    void page.route(pattern, async (route) => {
      await new Promise((wait) => setTimeout(wait, 1_500));
      await route.continue();
      resolve();
    });
  });
}

/** The event browser's page in a real headless Chromium, on `npm run dev`'s server and PostgreSQL. */
describe('the event browser page', () => {
  let database: TestDatabase;
  let dev: DevServer;
  let browser: Browser | undefined;
  let page: Page;
  let parkedEventId = '';

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    database = await createTestDatabase({ migrated: false });
    dev = await startDevServer(bankService, { port: 0, env: { ...process.env, DATABASE_URL: database.url, NATS_URL: undefined, POWERTOOLS_LOG_LEVEL: 'SILENT' } });
    // The page's story is only as good as these commands: one that fails says so here.
    const post = async (type: string, body: object, headers: Record<string, string> = {}) => {
      const response = await fetch(`${dev.url}/commands/${type}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`${type} answered ${String(response.status)}: ${await response.text()}`);
    };
    for (const accountId of ['pg-ada', 'pg-bob']) await post('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    await post('Deposit', { accountId: 'pg-ada', amount: 100 });
    await post('RequestTransfer', { transferId: 'pg-t1', fromAccountId: 'pg-ada', toAccountId: 'pg-bob', amount: 40, currency: 'EUR' }, { 'x-correlation-id': 'page-story' });
    // The saga runs in the dev server's loop.
    await untilTransferCompleted(dev.runtime.db, 'pg-t1');
    const { rows } = await dev.runtime.db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-pg-bob' ORDER BY version LIMIT 1");
    parkedEventId = rows[0]?.event_id ?? '';
    await parkMessages(dev.runtime.db, 'events', [{ messageId: parkedEventId, orderingKey: 'account-pg-bob', subject: 'events.account.AccountOpened', error: 'MAX_PAYLOAD_EXCEEDED' }]);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await dev.stop();
    await database.drop();
  });

  it('finds a transfer by its correlation id and shows its commands and events as one story', async () => {
    await page.goto(`${dev.url}/browser`);
    await page.getByTestId('search').fill('page-story');
    await page.getByTestId('search').press('Enter');
    await page.getByTestId('story').waitFor();
    const commands = await page.getByTestId('story-command').allTextContents();
    const events = await page.getByTestId('story-event').allTextContents();
    // Matched against the whole lists, so that a miss shows what the page did list.
    expect(commands).toEqual(expect.arrayContaining([expect.stringContaining('RequestTransfer (succeeded)'), expect.stringContaining('Withdraw (succeeded)')]));
    expect(events).toEqual(expect.arrayContaining([expect.stringContaining('TransferCompleted transfer-pg-t1'), expect.stringContaining('MoneyDeposited account-pg-bob')]));
    await page.screenshot({ path: `${ARTIFACTS}correlation-story.png`, fullPage: true });
  });

  it('keeps a story found while the health view the page opened on was still loading, when that view answers later', async () => {
    const healthAnswered = answeredLate(page, '**/browser/api/projections');
    try {
      await page.goto(`${dev.url}/browser`);
      await page.getByTestId('search').fill('page-story');
      await page.getByTestId('search').press('Enter');
      await page.getByTestId('story').waitFor();
      await healthAnswered;
      // Long enough for the late health view to have rendered, were it let.
      await page.waitForTimeout(500);
      expect(await page.getByTestId('story').isVisible()).toBe(true);
    } finally {
      await page.unroute('**/browser/api/projections');
    }
  });

  it('keeps the view a person went on to while a search was still being answered, when the search then finds nothing', async () => {
    const searchAnswered = answeredLate(page, '**/browser/api/search*');
    try {
      await page.goto(`${dev.url}/browser`);
      await page.getByTestId('backlog').waitFor();
      await page.getByTestId('search').fill('nothing-has-this-id');
      await page.getByTestId('search').press('Enter');
      // A link followed (the page's own navigation), not a new page load.
      await page.evaluate("location.hash = 'correlation/page-story'");
      await page.getByTestId('story').waitFor();
      await searchAnswered;
      await page.waitForTimeout(500);
      expect(await page.getByTestId('story').isVisible()).toBe(true);
      expect(await page.getByTestId('error').count()).toBe(0);
    } finally {
      await page.unroute('**/browser/api/search*');
    }
  });

  it("shows a stream, and its aggregate's state at the version the slider picks", async () => {
    await page.getByTestId('search').fill('account-pg-ada');
    await page.getByTestId('search').press('Enter');
    await page.getByTestId('state-slider').waitFor();
    expect(await page.getByTestId('event').count()).toBe(3);
    await expect.poll(() => page.getByTestId('state').textContent()).toContain('"balance": 60');
    await page.getByTestId('state-slider').fill('2');
    await expect.poll(() => page.getByTestId('state').textContent()).toContain('"balance": 100');
    expect(await page.getByTestId('state-version').textContent()).toBe('2');
    await page.screenshot({ path: `${ARTIFACTS}stream-state.png`, fullPage: true });
  });

  it('slides over the whole of a long stream, and lists its events a page at a time', async () => {
    // Given an account of 250 events: its opening and 249 deposits of 1.
    const deposits = Array.from({ length: 249 }, () => ({ type: 'MoneyDeposited', data: { amount: 1 } }));
    await dev.runtime.store.appendToStream({ streamId: 'account-pg-long', streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'AccountOpened', data: { owner: 'long', currency: 'EUR' } }, ...deposits] });
    await page.getByTestId('search').fill('account-pg-long');
    await page.getByTestId('search').press('Enter');
    // The previous stream's view stays until this one renders.
    await page.getByRole('heading', { name: 'Stream account-pg-long' }).waitFor();
    expect(await page.getByTestId('state-slider').getAttribute('max')).toBe('250');
    await expect.poll(() => page.getByTestId('state').textContent()).toContain('"balance": 249');
    expect(await page.getByTestId('event').count()).toBe(200);
    await page.getByTestId('more-events').click();
    await expect.poll(() => page.getByTestId('event').count()).toBe(250);
    expect(await page.getByTestId('more-events').isHidden()).toBe(true);
  });

  it('requeues a parked message from the health view', async () => {
    // An integration message parked under the event's id, listed after it: each row's button requeues its own.
    await parkMessages(dev.runtime.db, 'outbox', [{ messageId: parkedEventId, orderingKey: 'notices', subject: 'notices.sent', error: 'MAX_MSG_SIZE' }]);
    await page.goto(`${dev.url}/browser#health`);
    await expect.poll(() => page.getByTestId('parked').count()).toBe(2);
    expect(await page.getByTestId('parked').first().textContent()).toContain('MAX_PAYLOAD_EXCEEDED');
    await page.getByRole('button', { name: 'Requeue' }).first().click();
    await expect.poll(() => page.getByTestId('parked').first().textContent()).toContain('(requeued)');
    const { rows } = await dev.runtime.db.query<{ source: string; requeued: boolean }>(
      'SELECT source, requeued_at IS NOT NULL AS requeued FROM parked_messages WHERE message_id = $1 ORDER BY source',
      [parkedEventId],
    );
    expect(rows).toEqual([{ source: 'events', requeued: true }, { source: 'outbox', requeued: false }]);
    await page.screenshot({ path: `${ARTIFACTS}health.png`, fullPage: true });
  });

  it('discards a parked message from the health view once asked to confirm, and shows why it cannot discard one its publisher has not passed', async () => {
    // Given the requeue spec's integration message, whose outbox row is gone, and an event of this
    // store no publisher has passed (the dev server runs none without NATS), both parked.
    const { rows } = await dev.runtime.db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-pg-ada' ORDER BY version LIMIT 1");
    const waitingId = rows[0]?.event_id ?? '';
    await parkMessages(dev.runtime.db, 'events', [{ messageId: waitingId, orderingKey: 'account-pg-ada', subject: 'events.account.Waiting', error: 'MAX_MSG_SIZE' }]);
    // Loaded again: a page already on #health would not navigate, and would not list the new one.
    await page.goto(`${dev.url}/browser#health`);
    await page.reload();
    const row = (subject: string) => page.getByTestId('parked').filter({ hasText: subject });
    await row('events.account.Waiting').waitFor();
    const parkedRows = async () =>
      (await dev.runtime.db.query<{ source: string; message_id: string }>('SELECT source, message_id FROM parked_messages ORDER BY source, message_id')).rows;
    const before = await parkedRows();
    const discards: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes('/discard')) discards.push(request.url());
    });

    // When the operator declines the confirmation, nothing is asked of the API.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await row('notices.sent').getByRole('button', { name: 'Discard' }).click();
    expect(await parkedRows()).toEqual(before);

    // When they confirm, the message leaves the list: one discard was sent in all, the confirmed one.
    page.once('dialog', (dialog) => void dialog.accept());
    await row('notices.sent').getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => row('notices.sent').count()).toBe(0);
    expect(await parkedRows()).toEqual(before.filter((parked) => parked.source !== 'outbox'));
    expect(discards).toHaveLength(1);

    // And one its publisher has not passed stays, the page saying why.
    page.once('dialog', (dialog) => void dialog.accept());
    await row('events.account.Waiting').getByRole('button', { name: 'Discard' }).click();
    await expect.poll(() => page.getByTestId('action-error').textContent()).toContain("is not behind its publisher's checkpoint yet");
    expect(await row('events.account.Waiting').count()).toBe(1);
  });
});
