import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, reservePorts } from './free-ports';

const ephemeralStart = ((): number | undefined => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
})();

describe('freePorts', () => {
  it('gives distinct ports that can be bound at once, outside the range the kernel hands out itself where it is known', async () => {
    const ports = await freePorts(6);
    expect(new Set(ports).size).toBe(6);
    if (ephemeralStart !== undefined) for (const p of ports) expect(p).toBeLessThan(ephemeralStart);
    const servers = await Promise.all(
      ports.map((port) => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve(s));
      })),
    );
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it('skips a port that is taken', async () => {
    const [taken] = await freePorts(1);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', () => resolve()));
    try {
      const again = await freePorts(50);
      expect(again).not.toContain(taken);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

describe('port reservations across processes', () => {
  const reservations = join(tmpdir(), 'pinrank-port-reservations');

  it('never gives a port another process reserved a moment ago, and takes over a stale reservation', async () => {
    const [mine] = await freePorts(1);
    const [other] = await freePorts(1);
    // Another process (pid 1 stands for it) reserved `other` just now.
    writeFileSync(join(reservations, String(other)), '1');
    expect(reservePorts([other as number])).toBe(false);
    // The block is all or nothing: `mine` (this process's own) is not kept when `other` fails.
    expect(reservePorts([mine as number, other as number])).toBe(false);
    expect(existsSync(join(reservations, String(mine)))).toBe(false);
    expect(reservePorts([mine as number])).toBe(true);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(reservations, String(other)), old, old);
    expect(reservePorts([other as number])).toBe(true);
  });
});
