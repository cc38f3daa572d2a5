/** Parameters of the Tomcat server builder. */
export interface TomcatServerParams {
  /** Instance name: the container's name (etc/dysnomia/containers/NAME). */
  name: string;
  /** HTTP connector port. */
  httpPort: number;
  /** Shutdown port; -1 (the default) disables it. */
  shutdownPort?: number;
  /** The instance's CATALINA_BASE, created on the first activation. */
  catalinaBase: string;
  /** Tomcat's installation (default /usr/share/tomcat10). */
  catalinaHome?: string;
  /** Address the connector listens on (default 127.0.0.1; 0.0.0.0 for every interface). */
  address?: string;
  /** JVM options (default: DEFAULT_JAVA_OPTS). */
  javaOpts?: string;
}

export interface BuiltTomcatServer {
  component: string;
  containerName: string;
  /** etc/dysnomia/containers/NAME inside the component. */
  containerFile: string;
}

export const DEFAULT_CATALINA_HOME: string;
export const DEFAULT_JAVA_OPTS: string;
export function tomcatServerParams(params: TomcatServerParams): Required<TomcatServerParams>;
export function shellWord(value: string | number): string;
export function tomcatServerFiles(params: TomcatServerParams): Record<string, { text: string; mode: number }>;
export function buildTomcatServer(outDir: string, params: TomcatServerParams): Promise<BuiltTomcatServer>;
