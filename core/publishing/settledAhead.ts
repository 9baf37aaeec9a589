const NONE: ReadonlySet<string> = new Set();

/**
 * The messages a partition's batch settled (published, or parked) behind one
 * still waiting, remembered for the rest of the publisher's run. The batch's
 * checkpoint stops at the waiting message, so each retry reads them again;
 * without this it would send each of them again on every retry (JetStream
 * drops those within its duplicate window) and park again what it parked.
 */
export class SettledAhead {
  private readonly byPartition = new Map<string, ReadonlySet<string>>();

  of(partition: string): ReadonlySet<string> {
    return this.byPartition.get(partition) ?? NONE;
  }

  /** What the partition's latest batch left settled behind its first waiting message; nothing once the whole batch is done. */
  remember(partition: string, messageIds: ReadonlySet<string>): void {
    if (messageIds.size === 0) this.byPartition.delete(partition);
    else this.byPartition.set(partition, messageIds);
  }
}
