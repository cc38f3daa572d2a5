/** One target of a captured infrastructure model, in the order it is printed. */
export interface CapturedTarget {
  properties: Record<string, unknown>;
  containers: Record<string, Record<string, unknown>>;
  system?: string;
  numOfCores?: number;
  targetProperty?: string;
  clientInterface?: 'ssh' | 'local';
}

/** What `dysnomia capture-infra` prints: an infrastructure model `dysnomia deploy -i` reads. */
export type CapturedInfrastructure = Record<string, CapturedTarget>;
