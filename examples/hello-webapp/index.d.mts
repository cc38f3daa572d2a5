export interface HelloWebappParams {
  /** Printed by hello.jsp (default "Hello"). */
  greeting?: string;
  /** The WAR's name without .war, also its context path (default "hello"). */
  warName?: string;
}

export interface BuiltHelloWebapp {
  component: string;
  /** webapps/NAME.war inside the component. */
  war: string;
  /** "/NAME" */
  contextPath: string;
}

export const WEB_DIR: string;
export function helloWebappParams(params?: HelloWebappParams): Required<HelloWebappParams>;
export function helloWar(params?: HelloWebappParams): Promise<Uint8Array>;
export function buildHelloWebapp(outDir: string, params?: HelloWebappParams): Promise<BuiltHelloWebapp>;
