export const POSTGRES_INSTALL_HINT: string;
export function postgresBinDir(): string;

export interface PostgresServer {
  port: number;
  user: string;
  password: string;
  database: string;
  /** postgres://USER@127.0.0.1:PORT/DATABASE: no password, as a config holds it. */
  url: string;
  /** A .pgpass-format file (mode 0600) holding the password, for PGPASSFILE. */
  passFile: string;
  /** Runs one SQL statement (in `database` unless another is named) through psql as the superuser over the socket; its output, unaligned. */
  psql(sql: string, database?: string): string;
  stop(): Promise<void>;
}

export function startPostgresServer(dir: string, options?: { password?: string }): Promise<PostgresServer>;
