import { found, notFound, QueryInputError, type QueryRoute } from '../service';
import { StatementPageRequestSchema, type AccountQueries } from './accountQueries';
import type { TransferQueries } from './transferQueries';

/** What the bank's reads share: the account read models' readers. */
export interface BankReads {
  accounts: AccountQueries;
  transfers: TransferQueries;
}

const accountNotFound = (accountId: string) => notFound('ACCOUNT_NOT_FOUND', `No account ${accountId}`, { accountId });

/** `GET /accounts/{id}`: the account's summary (owner, currency, balance, status) from its read model. */
const getAccount: QueryRoute<BankReads> = {
  path: '/accounts/{id}',
  async handle({ pathParameters }, { accounts }) {
    const accountId = pathParameters.id ?? '';
    const summary = await accounts.getAccountSummary(accountId);
    return summary ? found(summary) : accountNotFound(accountId);
  },
};

/**
 * `GET /accounts/{id}/statement?limit=50&after=<cursor>`: the account's
 * movements, oldest first, each with the balance after it; `nextCursor` is the
 * `after` of the next page, null on the last.
 */
const getAccountStatement: QueryRoute<BankReads> = {
  path: '/accounts/{id}/statement',
  async handle({ pathParameters, query }, { accounts }) {
    const accountId = pathParameters.id ?? '';
    const page = StatementPageRequestSchema.safeParse(query);
    if (!page.success) {
      const issues = page.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      throw new QueryInputError('INVALID_PAGE', 'The page parameters are invalid', issues);
    }
    const statement = await accounts.getAccountStatement(accountId, page.data);
    return statement ? found(statement) : accountNotFound(accountId);
  },
};

/** `GET /transfers/{id}`: the transfer's status, terms, steps with their times and failure reason, read from its stream. */
const getTransfer: QueryRoute<BankReads> = {
  path: '/transfers/{id}',
  async handle({ pathParameters }, { transfers }) {
    const transferId = pathParameters.id ?? '';
    const view = await transfers.getTransfer(transferId);
    return view ? found(view) : notFound('TRANSFER_NOT_FOUND', `No transfer ${transferId}`, { transferId });
  },
};

export const bankQueries: readonly QueryRoute<BankReads>[] = [getAccount, getAccountStatement, getTransfer];
