import { randomUUID } from 'node:crypto';
import { LARGE_DEPOSIT } from '../../core/bank';

/** What the API acknowledged: commands it answered 200 (with their events) or 202 (sent). */
export interface Ledger {
  accounts: string[];
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
  return { accounts: [], acknowledged: new Map(), sent: [], transfers: [], requests: 0, refused: 0, failed: 0, unanswered: 0 };
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
 * A few deposits are large, so the outbox carries integration messages (the
 * bank reports them to compliance); each is taken out again by the next
 * command, so that accounts keep running short of funds. Every answer is
 * written in the ledger the invariants check.
 */
export async function driveLoad(apiUrl: string, ledger: Ledger, until: number, random: () => number): Promise<void> {
  const pick = () => ledger.accounts[Math.floor(random() * ledger.accounts.length)] ?? '';
  let takeBack: string | undefined;
  while (Date.now() < until) {
    const commandId = randomUUID();
    const roll = random();
    const async = random() < 0.15;
    let type: string;
    let payload: object;
    if (takeBack !== undefined) [type, payload] = ['Withdraw', { accountId: takeBack, amount: LARGE_DEPOSIT }];
    else if (roll < 0.007) [type, payload] = ['Deposit', { accountId: pick(), amount: LARGE_DEPOSIT }];
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
    const large = type === 'Deposit' && (payload as { amount: number }).amount === LARGE_DEPOSIT;
    // Taken back once the deposit is known to be in (answered 200 or 202); a withdrawal is tried once.
    takeBack = large && (answer?.status === 200 || answer?.status === 202) ? (payload as { accountId: string }).accountId : undefined;
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

/** Opens the accounts the load moves money between, each with a first deposit; retried until acknowledged. */
export async function openAccounts(apiUrl: string, ledger: Ledger, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const accountId = `acct-${String(index)}`;
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
    ledger.accounts.push(accountId);
  }
}
