import { BatchItemError } from './BatchItemError';

/**
 * A partition's last holder never gave it back: its lease ran out in its hands,
 * most often because its process died in a batch. The holder that takes the
 * partition over counts it as that batch's failure, under the failure policy.
 */
export class LeaseRanOutError extends BatchItemError {
  override readonly code = 'LEASE_RAN_OUT';
  constructor(readonly lostHolder: string) {
    super(`the lease of ${lostHolder} ran out before it gave the partition back: its process ended or stalled during a batch`, null, undefined);
    this.name = 'LeaseRanOutError';
  }
}
