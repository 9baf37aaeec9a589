/**
 * The effect caught a statement's failure and went on: PostgreSQL refuses every
 * statement after it until the transaction ends, the processed record's among
 * them, so nothing is kept and the message comes back. It comes back failing
 * the same way until the effect is fixed: a statement that may fail belongs in
 * a savepoint (inSavepoint from core/db).
 */
export class EffectWentOnPastFailureError extends Error {
  readonly code = 'EFFECT_WENT_ON_PAST_FAILURE';
  constructor(
    readonly consumer: string,
    readonly messageId: string,
    override readonly cause: unknown,
  ) {
    super(
      `The effect of ${consumer} for message ${messageId} went on past a failed statement, so its transaction could not record the message: ` +
        'nothing is kept, and the message comes back. To go on past a statement that may fail, run it in a savepoint (inSavepoint from core/db)',
    );
    this.name = 'EffectWentOnPastFailureError';
  }
}
