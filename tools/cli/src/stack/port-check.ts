import { createServer } from 'node:net';

/**
 * Of `ports`, those that cannot be bound on `host` now (another process listens there).
 * Each is bound and released at once; other bind errors (a host not on this machine)
 * are left to the services, whose logs name them.
 */
export async function portsTaken<T extends { port: number }>(host: string, ports: readonly T[]): Promise<T[]> {
  const taken: T[] = [];
  for (const p of ports) {
    const inUse = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
      server.listen(p.port, host, () => server.close(() => resolve(false)));
    });
    if (inUse) taken.push(p);
  }
  return taken;
}
