import { defineService } from '../service';
import { createAccountQueries } from './accountQueries';
import { bankCommands } from './bankCommands';
import { bankProjections } from './bankProjections';
import { bankQueries, type BankReads } from './bankQueries';
import { LARGE_DEPOSIT_SUBJECT } from './largeDeposits';

/** The reference domain as one service: accounts and transfers, their read models and routes. */
export const bankService = defineService<BankReads>({
  name: 'bank',
  commands: bankCommands,
  context: ({ db }) => ({ accounts: createAccountQueries(db) }),
  queries: bankQueries,
  projections: bankProjections,
  publishing: { integrationSubjects: [LARGE_DEPOSIT_SUBJECT] },
  access: { kind: 'iam' },
});
