import * as z from '../schema';
import type { SnapshotPolicy } from '../aggregates';
import type { AccountState } from './accountTypes';

const details = { owner: z.string(), currency: z.string(), balance: z.int().check(z.nonnegative()) };

/** The stored state, checked on load rather than trusted. */
const accountStateSchema: z.ZodMiniType<AccountState> = z.discriminatedUnion('status', [
  z.object({ status: z.literal('unopened') }),
  z.object({ status: z.literal('open'), ...details }),
  z.object({ status: z.literal('closed'), ...details }),
]);

/**
 * A snapshot every 100 events. Bump `schemaVersion` when `AccountState` or an
 * evolver changes: older snapshots are then ignored and replaced.
 */
export const accountSnapshots: SnapshotPolicy<AccountState> = {
  every: 100,
  schemaVersion: 1,
  fromJson: (json) => accountStateSchema.parse(json),
};
