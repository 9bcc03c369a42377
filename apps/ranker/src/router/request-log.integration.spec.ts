import { connectNats } from '@pinrank/nats';
import { startNatsServer, type NatsTestServer } from '@pinrank/nats/testing';
import { NatsRequestLog, type RequestLogEntry } from './request-log';

// The NATS request log through an outage, against a nats-server that is killed and started
// again: what it holds for the server meanwhile is bounded, the rest is dropped and counted.
let server: NatsTestServer;
beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterAll(async () => {
  await server?.stop();
});

const entry = (n: number): RequestLogEntry => ({
  ts: Date.now(),
  requestId: `r-${n}`,
  traceId: '0'.repeat(32),
  method: 'Rank',
  userId: `u-${n}`,
  requestTimeMs: Date.now(),
  candidates: 3,
  items: [['i1', 0.5, [0.1, 0.2, 0.3]]],
  heads: ['save', 'click', 'hide'],
  modelVersions: { transact_encoder: '4', ranking_heads: '3' },
  snapshotVersion: 's1',
  degraded: [],
  unknownItemIds: [],
});

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the NATS request log through an outage', () => {
  it('holds a bounded amount for the server while it is away, drops and counts the rest, and says so once it is back', async () => {
    const messages: string[] = [];
    const bytes = Buffer.byteLength(JSON.stringify(entry(10)));
    let drops = 0;
    const log = await NatsRequestLog.open(server.url, 'rl.outage', (err) => messages.push((err as Error).message), {}, { outageBufferBytes: 5 * bytes, reconnectTimeWaitMs: 50, onDrop: () => void drops++ });
    const reader = await connectNats({ servers: server.url, name: 'reader', reconnectTimeWaitMs: 50 });
    const got: string[] = [];
    const sub = reader.subscribe('rl.outage');
    void (async () => {
      for await (const m of sub) got.push((JSON.parse(new TextDecoder().decode(m.data)) as RequestLogEntry).requestId);
    })().catch(() => undefined);
    let readerReconnects = 0;
    void (async () => {
      for await (const s of reader.status()) if (s.type === 'reconnect') readerReconnects++;
    })().catch(() => undefined);
    try {
      await reader.flush();
      log.write(entry(1));
      await until('the first entry', () => got.includes('r-1'));

      await server.kill();
      await until('the outage to be noticed', () => messages.some((m) => m.includes('NATS unreachable')));
      for (let n = 10; n < 60; n++) log.write(entry(n));
      // Five entries fit the budget; the other 45 are dropped, not held.
      expect(log.droppedInOutage).toBe(45);
      expect(drops).toBe(45); // pinrank_router_request_log_dropped_total counts them

      await server.start();
      await until('the end of the outage', () => messages.some((m) => m.includes('entries dropped')));
      expect(messages.filter((m) => m.includes('NATS unreachable'))).toHaveLength(1);
      expect(messages.find((m) => m.includes('entries dropped'))).toBe('request log: 45 entries dropped while NATS was unreachable');
      expect(log.droppedInOutage).toBe(0);
      // Connected again: entries flow as before.
      await until('the reader to be back', () => readerReconnects > 0);
      await reader.flush();
      log.write(entry(99));
      await until('an entry after the outage', () => got.includes('r-99'));
    } finally {
      await log.close();
      await reader.close();
    }
  });
});
