import {
  addField,
  convertField,
  defineUpcasters,
  renameEventType,
  renameField,
  upcastStep,
} from '../../core/upcasting';

/**
 * The history of MoneyDeposited, as a store that has lived a while holds it:
 * v1 `{ sum: "12.50" }`, v2 renamed sum to amount, v3 amount became integer cents,
 * v4 added currency (EUR before then). Older still, the event was called FundsAdded.
 */
export const accountUpcasters = defineUpcasters([
  renameEventType('FundsAdded', 1, { type: 'MoneyDeposited', version: 1 }),
  upcastStep('MoneyDeposited', 1, renameField('sum', 'amount')),
  upcastStep('MoneyDeposited', 2, convertField('amount', (value) => Math.round(Number(value) * 100))),
  upcastStep('MoneyDeposited', 3, addField('currency', 'EUR')),
]);
