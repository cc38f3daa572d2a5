import { readFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { freePorts } from './helpers/ports.js';

// The servers the tests start get their ports from here: outside the range outgoing connections take theirs from, all different, all free.
t.test('free ports are below the ephemeral range, different, and can be listened on', async (t) => {
  const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await freePorts(20);
  t.equal(new Set(ports).size, 20, 'all different');
  t.ok(ports.every((port) => port >= 10_000 && port < ephemeralStart), `all in [10000, ${ephemeralStart}): ${ports.join(' ')}`);
  const servers = await Promise.all(ports.map((port) => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  })));
  t.equal(servers.length, 20, 'each one free to listen on');
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});
