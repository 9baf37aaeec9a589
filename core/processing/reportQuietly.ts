/**
 * Tells a caller's hook (a log line, an alert) of something the run already
 * recorded. What the hook throws is ignored, also what it rejects with later:
 * an async hook's rejection, left alone, is an unhandled rejection, which ends
 * a Node process (a Lambda's) mid-run with its leases held. A report that
 * fails must not stop the work it reports on.
 */
export function reportQuietly<Report>(hook: ((report: Report) => unknown) | undefined, report: Report): void {
  try {
    const returned = hook?.(report);
    if (returned instanceof Promise) returned.catch(() => undefined);
  } catch {
    // Recorded all the same: on the partition, and in the run's report.
  }
}
