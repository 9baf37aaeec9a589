export {
  defineAggregate,
  type Aggregate,
  type AggregateDefinition,
  type CommandShape,
  type Deciders,
  type Evolvers,
  type SnapshotPolicy,
} from './defineAggregate';
export { DomainError } from './DomainError';
export { createRepository, type AggregateRepository, type CommandOutcome, type HandleOptions, type RepositoryOptions } from './repository';
export { loadAggregate, type LoadedAggregate } from './loadAggregate';
export { specification, type GivenStep, type WhenStep } from './specification';
