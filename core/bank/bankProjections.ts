import type { Projection } from '../projections';
import { accountStatements } from './accountStatementProjection';
import { accountSummaries } from './accountSummaryProjection';

/** The read models the bank's projector keeps up to date. */
export const bankProjections: readonly Projection[] = [accountSummaries, accountStatements];
