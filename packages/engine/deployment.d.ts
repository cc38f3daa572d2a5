// @dysnomia/engine/deployment: kept for programs written before the orchestrator
// moved to its own package. New code imports @dysnomia/deploy.
export * from '@dysnomia/deploy';
