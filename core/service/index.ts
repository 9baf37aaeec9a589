export { defineService, ServiceDefinitionError, DEFAULT_DATABASE_DEPLOYMENT, type DatabaseDeployment, type Service, type ServiceDefinition } from './defineService';
export { aggregateCommands, type CommandGroup, type CommandVisibility, type ServiceCommandSpec, type BuiltCommand, type DeclaredCommand } from './serviceCommands';
export { found, notFound, QueryInputError, type QueryAnswer, type QueryRequest, type QueryRoute } from './serviceQueries';
export { DEFAULT_ACCESS, type AccessSettings } from './accessSettings';
export { serviceRoutes, scheduledWork, type RouteKind, type ServiceRoute, type ScheduledWork } from './serviceRoutes';
export { createServiceRuntime, serviceCommandDefinitions, type RuntimeOptions, type ServiceRuntime } from './serviceRuntime';
export { createServicePublisher } from './servicePublisher';
export { reportServiceGauges, OVERDUE_GRACE_MS } from './serviceGauges';
export { migrateService, assertServiceSchemaCurrent, migrationDirectoriesFromEnv, type AppliedMigrations, type MigrationDirectories } from './serviceMigrations';
