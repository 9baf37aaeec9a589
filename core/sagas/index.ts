export {
  defineSaga,
  SagaDefinitionError,
  type Saga,
  type SagaDefinition,
  type SagaReaction,
  type SagaStep,
  type SagaCommandShape,
  type TimeoutShape,
  type ScheduledTimeout,
  type StartingHandler,
  type ContinuingHandler,
  type StepSucceeded,
  type StepRefused,
  type CompensatedHandler,
} from './defineSaga';
export { applyInput, correlationKeyOf } from './applyInput';
export { stepCommandId, type ClaimedStep, type SagaInstance, type SagaInput, type SagaPhase, type SagaFailure, type StepRecord, type TimeoutRecord, type IgnoredReason } from './sagaInstance';
export { handleInput, SagaConflictError, type InputResult, type HandleInputOptions } from './handleInput';
export { SagaStateTooNewError } from './instanceRecord';
export { sagaProcessor, sagaProcessorName, type IgnoredInput, type SagaProcessorOptions } from './sagaProcessor';
export { createStepDispatcher, DEFAULT_STEP_RETRY, type StepDispatcher, type StepRetryPolicy, type Dispatch, type DispatchRequest, type DispatchStart } from './stepDispatcher';
export { sweepSagas, type SweepReport } from './sagaSweeper';
export { watchTimeouts, type WatchOptions } from './watchTimeouts';
export { createSagaRuntime, UnknownSagaError, type SagaRuntime, type SagaRuntimeOptions } from './sagaRuntime';
export { readSagaInstance, sagaCounts, type SagaInstanceView, type SagaStepView, type SagaCounts } from './sagaInspection';
export {
  sagaSpecification,
  feedEvent,
  stepSucceeded,
  stepRefused,
  clockAdvances,
  timeoutFires,
  type SpecInput,
  type SagaEffects,
  type SagaThen,
} from './sagaSpecification';
