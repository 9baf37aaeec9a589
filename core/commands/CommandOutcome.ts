/** What a command did, as stored for replays and returned to callers (JSON-safe). */
export interface CommandOutcome {
  commandId: string;
  commandType: string;
  streamId: string;
  /** The stream's version after the command. */
  version: number;
  events: OutcomeEvent[];
  /** True when this answer is the stored outcome of an earlier run with the same command id. */
  replayed: boolean;
}

export interface OutcomeEvent {
  eventId: string;
  type: string;
  version: number;
  /** A decimal string: positions can exceed JavaScript's safe integers. */
  globalPosition: string;
}
