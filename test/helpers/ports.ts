import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Where free ports are looked for: below the kernel's ephemeral range. A port
 * handed out here is closed again until the server it is for binds it, which
 * for a database takes seconds; a port from the ephemeral range (what
 * `listen(0)` gives) may meanwhile become the local end of one of the many
 * outgoing connections the suite makes, and the server then fails with
 * EADDRINUSE.
 */
const SEARCH_FROM = 10_000;
const SEARCH_BELOW = ephemeralRangeStart();

function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > SEARCH_FROM + 1000 ? start : 0;
  } catch {
    return 0;
  }
}

function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * TCP ports on 127.0.0.1 that nobody listens on right now, all different:
 * each is listened on (a random one below the ephemeral range; port 0 where
 * that range is unusual), read, and closed once all are found.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  for (let attempt = 0; servers.length < count; attempt++) {
    if (attempt > 1000) throw new Error(`no ${count} free TCP ports found on 127.0.0.1`);
    const port = SEARCH_BELOW === 0 ? 0 : SEARCH_FROM + Math.floor(Math.random() * (SEARCH_BELOW - SEARCH_FROM));
    const server = await listenOn(port);
    if (server !== undefined) servers.push(server);
  }
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** One free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}
