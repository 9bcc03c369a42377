import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePorts } from './free-ports';

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
