export { createAsyncCommands, type AsyncCommands, type AsyncCommandsOptions } from './asyncCommands';
export { logErrorTo, type CommandDispatcher, type ErrorReporter, type RunPendingCommand } from './CommandDispatcher';
export type { CommandFailure, CommandState, CommandStatus, SendResult } from './CommandStatus';
export { createInProcessDispatcher, type InProcessDispatcher } from './inProcessDispatcher';
export { DEFAULT_SWEEP_OPTIONS, type SweepOptions, type SweepResult } from './sweepPendingCommands';
export { getCommandStatus } from './getCommandStatus';
export { describeFailure, isVerdict } from './describeFailure';
export { WorkerEventSchema, parseWorkerEvent, type WorkerEvent } from './workerEvent';
