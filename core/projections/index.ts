export {
  defineProjection,
  DEFAULT_PROJECTION_BATCH_SIZE,
  type Projection,
  type ProjectionContext,
  type ProjectionDefinition,
  type ProjectionHandlers,
} from './defineProjection';
export { ProjectionDefinitionError, ProjectionHandlerError, ProjectionNotFoundError, ProjectionSupersededError, ProjectorRunError, type LiveGenerationSummary } from './errors';
export { generationTableName, processorNameOf, quoteIdentifier, type TableNames } from './projectionNames';
export type { Generation, GenerationReason, GenerationStatus } from './generationRecords';
export { registerProjection, rebuildProjection } from './registerProjection';
export { activateIfCaughtUp, type GenerationSwitch } from './activateGeneration';
export { createProjector, type Projector, type ProjectorRun } from './projector';
export { type ProjectorOptions } from './projectorOptions';
// Kept here too, where projections have always found it.
export { DEFAULT_LEASE_TTL_MS } from '../processing';
export { generationProcessor } from './generationProcessor';
export {
  getProjectionStatus,
  type GenerationProgress,
  type PartitionState,
  type PartitionStatus,
  type ProjectionStatus,
} from './projectionStatus';
export { resumeProjection } from './resumeProjection';
export { createProjectionReader, MAX_READER_CACHE_MS, type ProjectionReader } from './projectionReader';
export { RETIRED_TABLES_KEPT_MS } from './startGeneration';
export { startProjectorLoop, type ProjectorLoop } from './projectorLoop';
