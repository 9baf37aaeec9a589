import { randomUUID } from 'node:crypto';
import { LARGE_DEPOSIT } from '../../core/bank';

/** What the API acknowledged: commands it answered 200 (with their events) or 202 (sent). */
export interface Ledger {
  accounts: string[];
  /** Accounts only large deposits go to: kept out of the others, which must keep running short of funds. */
  vaults: string[];
  /** Command id -> the event ids its 200 answer named. */
  acknowledged: Map<string, string[]>;
  /** Command ids answered 202: they must end succeeded or failed, never stay pending. */
  sent: string[];
  transfers: string[];
  requests: number;
  refused: number;
  /** 5xx answers: the database cut away, say; nothing acknowledged. */
  failed: number;
  /** No answer: the API down or the connection cut; the client waits a moment and goes on. */
  unanswered: number;
}

export function newLedger(): Ledger {
  return { accounts: [], vaults: [], acknowledged: new Map(), sent: [], transfers: [], requests: 0, refused: 0, failed: 0, unanswered: 0 };
}

interface Answer {
  status: number;
  body: { events?: { eventId: string }[]; commandId?: string };
}

async function post(apiUrl: string, type: string, payload: object, headers: Record<string, string> = {}): Promise<Answer | undefined> {
  try {
    const response = await fetch(`${apiUrl}/commands/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  } catch {
    // The API process may be down or the connection cut: nothing was acknowledged.
    return undefined;
  }
}

/**
 * One client of the API doing what account holders do, at random: deposits,
 * withdrawals (some refused for want of funds), transfers (some to accounts
 * that do not exist, or too large), and some commands sent asynchronously.
 * One deposit in fifty is a large one into a vault, so the outbox carries
 * integration messages (the bank reports them to compliance), a few keys'
 * worth. Every answer is written in the ledger the invariants check.
 */
export async function driveLoad(apiUrl: string, ledger: Ledger, until: number, random: () => number): Promise<void> {
  const pick = () => ledger.accounts[Math.floor(random() * ledger.accounts.length)] ?? '';
  const vault = () => ledger.vaults[Math.floor(random() * ledger.vaults.length)] ?? '';
  while (Date.now() < until) {
    const commandId = randomUUID();
    const roll = random();
    const async = random() < 0.15;
    let type: string;
    let payload: object;
    if (roll < 0.007) [type, payload] = ['Deposit', { accountId: vault(), amount: LARGE_DEPOSIT }];
    else if (roll < 0.35) [type, payload] = ['Deposit', { accountId: pick(), amount: 1 + Math.floor(random() * 500) }];
    else if (roll < 0.6) [type, payload] = ['Withdraw', { accountId: pick(), amount: 1 + Math.floor(random() * 800) }];
    else {
      const transferId = `x-${commandId}`;
      const to = random() < 0.1 ? `ghost-${commandId}` : pick();
      const from = pick();
      [type, payload] = ['RequestTransfer', { transferId, fromAccountId: from, toAccountId: to === from ? `ghost-${commandId}` : to, amount: 1 + Math.floor(random() * 600), currency: 'EUR' }];
    }
    ledger.requests += 1;
    const answer = await post(apiUrl, type, payload, { 'idempotency-key': commandId, ...(async ? { prefer: 'respond-async' } : {}) });
    if (!answer) {
      ledger.unanswered += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } else if (answer.status >= 500) ledger.failed += 1;
    else if (answer.status === 202) ledger.sent.push(commandId);
    else if (answer.status === 200) {
      ledger.acknowledged.set(commandId, (answer.body.events ?? []).map((event) => event.eventId));
      if (type === 'RequestTransfer') ledger.transfers.push((payload as { transferId: string }).transferId);
    } else ledger.refused += 1;
  }
}

/**
 * Opens the accounts the load moves money between, and the vaults, each with a
 * first deposit; retried until acknowledged.
 */
export async function openAccounts(apiUrl: string, ledger: Ledger, count: number, vaults: number): Promise<void> {
  for (let index = 0; index < count + vaults; index += 1) {
    const vault = index >= count;
    const accountId = vault ? `vault-${String(index - count)}` : `acct-${String(index)}`;
    for (const [type, payload] of [['OpenAccount', { accountId, owner: accountId, currency: 'EUR' }], ['Deposit', { accountId, amount: 1_000 }]] as const) {
      const commandId = randomUUID();
      for (;;) {
        const answer = await post(apiUrl, type, payload, { 'idempotency-key': commandId });
        if (answer?.status === 200) {
          ledger.acknowledged.set(commandId, (answer.body.events ?? []).map((event) => event.eventId));
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    (vault ? ledger.vaults : ledger.accounts).push(accountId);
  }
}
