import { defineService } from '../service';
import { createAccountQueries } from './accountQueries';
import { bankCommands } from './bankCommands';
import { bankProjections } from './bankProjections';
import { bankQueries, type BankReads } from './bankQueries';
import { LARGE_DEPOSIT_SUBJECT } from './largeDeposits';
import { createTransferQueries } from './transferQueries';
import { defineTransferSaga } from './transferSaga';

/**
 * The reference domain as one service: accounts and transfers, their read
 * models, routes and the transfer saga (its timeout given here, 30 s by default).
 */
export function createBankService(options: { transferTimeoutMs?: number } = {}) {
  return defineService<BankReads>({
    name: 'bank',
    commands: bankCommands,
    context: ({ db }) => ({ accounts: createAccountQueries(db), transfers: createTransferQueries(db) }),
    queries: bankQueries,
    projections: bankProjections,
    sagas: [defineTransferSaga(options.transferTimeoutMs === undefined ? {} : { timeoutMs: options.transferTimeoutMs })],
    publishing: { integrationSubjects: [LARGE_DEPOSIT_SUBJECT] },
    access: { kind: 'iam' },
  });
}

export const bankService = createBankService();
