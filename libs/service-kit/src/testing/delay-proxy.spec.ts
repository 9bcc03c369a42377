import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startDelayProxy, type DelayProxy } from './delay-proxy';

/** An echo server on 127.0.0.1 (each connection sends back what it receives). */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

const connected = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

describe('startDelayProxy', () => {
  let echo: { server: Server; port: number };
  let proxy: DelayProxy | undefined;
  beforeEach(async () => {
    echo = await echoServer();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await new Promise((r) => echo.server.close(r));
  });

  it('adds its delay in each direction to a round trip', async () => {
    proxy = await startDelayProxy({ targetPort: echo.port, oneWayMs: 20 });
    const s = await connected(proxy.port);
    const trips: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const back = new Promise((r) => s.once('data', r));
      s.write(`ping ${i}`);
      await back;
      trips.push(performance.now() - t0);
    }
    s.destroy();
    // Each trip waits 20 ms out and 20 ms back (timers may fire a millisecond early or late).
    expect(Math.min(...trips)).toBeGreaterThanOrEqual(38);
    expect(Math.min(...trips)).toBeLessThan(200);
    expect(proxy.accepted).toBe(1);
  });

  it('forwards every byte in order, holding a fast sender back', async () => {
    proxy = await startDelayProxy({ targetPort: echo.port, oneWayMs: 2 });
    const s = await connected(proxy.port);
    const sent = randomBytes(24 * 1024 * 1024); // past the proxy's high-water mark in each direction
    const received: Buffer[] = [];
    let length = 0;
    const all = new Promise<void>((resolve) =>
      s.on('data', (b: Buffer) => {
        received.push(b);
        length += b.length;
        if (length >= sent.length) resolve();
      }),
    );
    for (let off = 0; off < sent.length; off += 64 * 1024) s.write(sent.subarray(off, off + 64 * 1024));
    await all;
    s.destroy();
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(length).toBe(sent.length);
    expect(digest(Buffer.concat(received))).toBe(digest(sent));
  });

  it('closes the client when the target closes, after what the target sent', async () => {
    const farewell = createServer((s) => s.end('bye'));
    await new Promise<void>((r) => farewell.listen(0, '127.0.0.1', () => r()));
    try {
      proxy = await startDelayProxy({ targetPort: (farewell.address() as { port: number }).port, oneWayMs: 5 });
      const s = await connected(proxy.port);
      let text = '';
      s.on('data', (b: Buffer) => (text += b.toString()));
      await new Promise((r) => s.once('close', r));
      expect(text).toBe('bye');
    } finally {
      await new Promise((r) => farewell.close(r));
    }
  });

  it('closes the client when nothing listens on the target', async () => {
    const { port } = await echoServer().then(async (e) => {
      await new Promise((r) => e.server.close(r));
      return e;
    });
    proxy = await startDelayProxy({ targetPort: port, oneWayMs: 1 });
    const s = await connected(proxy.port);
    s.on('error', () => undefined);
    await new Promise((r) => s.once('close', r));
    expect(s.destroyed).toBe(true);
  });

  it('refuses a delay or port it cannot use', async () => {
    await expect(startDelayProxy({ targetPort: echo.port, oneWayMs: -1 })).rejects.toThrow('oneWayMs must be a finite number >= 0, got -1');
    await expect(startDelayProxy({ targetPort: 70_000, oneWayMs: 1 })).rejects.toThrow('targetPort must be a TCP port, got 70000');
  });
});

describe('a partition of the delay proxy', () => {
  it('silences open and new connections without closing them, and closes them when it heals', async () => {
    const { server, port } = await echoServer();
    const proxy = await startDelayProxy({ targetPort: port, oneWayMs: 1 });
    try {
      const open = await connected(proxy.port);
      const echoed = (s: Socket, text: string, waitMs: number): Promise<boolean> =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), waitMs);
          s.once('data', () => {
            clearTimeout(timer);
            resolve(true);
          });
          s.write(text);
        });
      expect(await echoed(open, 'before', 1000)).toBe(true);
      proxy.partition();
      expect(await echoed(open, 'during', 300)).toBe(false);
      const late = await connected(proxy.port); // accepted, never answered
      expect(await echoed(late, 'late', 300)).toBe(false);
      expect(open.destroyed || late.destroyed).toBe(false);

      const closed = Promise.all([open, late].map((s) => new Promise((r) => s.once('close', r))));
      proxy.heal();
      await closed;
      const after = await connected(proxy.port);
      expect(await echoed(after, 'after', 1000)).toBe(true);
      after.destroy();
    } finally {
      await proxy.close();
      await new Promise((r) => server.close(r));
    }
  });
});
