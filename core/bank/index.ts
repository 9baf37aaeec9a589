// The reference domain: bank accounts and money transfers. The framework never imports it.
export { account } from './account';
export { accountSnapshots } from './accountSnapshots';
export {
  MAX_OWNER_LENGTH,
  type AccountCommand,
  type AccountDetails,
  type AccountEvent,
  type AccountState,
  type AccountStatus,
  type Movement,
  type MovementOptions,
} from './accountTypes';
export { transfer } from './transfer';
export { accountIdOf } from './accountIds';
export { accountSummaries, defineAccountSummaries } from './accountSummaryProjection';
export { accountStatements, defineAccountStatements } from './accountStatementProjection';
export { bankProjections } from './bankProjections';
export { bankService, createBankService } from './bankService';
export { transferSaga, defineTransferSaga, DEFAULT_TRANSFER_TIMEOUT_MS, TRANSFER_TIMED_OUT, type TransferSagaState, type TransferSagaCommand, type TransferTimeout } from './transferSaga';
export { createTransferQueries, type TransferQueries, type TransferView } from './transferQueries';
export { bankCommands } from './bankCommands';
export { LARGE_DEPOSIT, LARGE_DEPOSIT_SUBJECT } from './largeDeposits';
export {
  createAccountQueries,
  MAX_STATEMENT_PAGE,
  StatementPageRequestSchema,
  type AccountQueries,
  type AccountSummary,
  type StatementLine,
  type StatementPage,
  type StatementPageRequest,
} from './accountQueries';
export { FINISHED_TRANSFER_STATUSES, TRANSFER_TRANSITIONS, isTransferFinished } from './transferLifecycle';
export type { FailureReason, TransferCommand, TransferEvent, TransferState, TransferStatus, TransferTerms } from './transferTypes';
export { CURRENCY_PATTERN, MAX_AMOUNT, MAX_BALANCE } from './money';
export { ACCOUNT_RULES, MONEY_RULES, TRANSFER_RULES, type AccountRule, type BankRule, type MoneyRule, type TransferRule } from './rules';
export {
  BANK_ID_PATTERN,
  MAX_REASON_LENGTH,
  amountSchema,
  bankIdSchema,
  currencySchema,
  ownerSchema,
  reasonSchema,
} from './fieldSchemas';
export {
  accountCommandSchemas,
  accountCommandShapes,
  transferCommandShapes,
  bankCommandSchemas,
  isAccountCommandType,
  isBankCommandType,
  isTransferCommandType,
  transferCommandSchemas,
  type BankCommand,
  type BankCommandType,
  type CommandSchemas,
} from './commandSchemas';
