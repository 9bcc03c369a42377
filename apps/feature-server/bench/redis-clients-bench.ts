// What a sequence read costs a Redis server when many clients read at once, against one
// client with one read in flight (how `npm run bench feature-server` measures it). A shard at
// the utilisation a capacity plan aims for serves many feature-server replicas at the same
// time, so its cost per read is the figure to size with. The same users are read through
// the Redis backend's two layouts and as a plain LRANGE of the same record bytes, from 1 and
// from more connections (one read in flight on each), in rounds with the order rotating; the
// server's whole CPU (INFO cpu, its idle rate taken out) per read is the median over rounds.
//
//   npx tsx apps/feature-server/bench/redis-clients-bench.ts [--clients 1,16,64] [--reads 4000] [--rounds 5] [--smoke]
import { loadavg } from 'node:os';
import { BusyCpu } from '@pinrank/redis';
import { Command } from 'commander';
import Redis from 'ioredis';
import { DEFAULT_RETENTION } from '../src/app';
import { RedisActionStore, REDIS_LAYOUTS } from '../src/store/redis-action-store';
import { encodeRecord } from '../src/store/stored-record';
import { benchAction, f, p50, progressLog, removeKeys } from './bench-figures';

const opts = new Command()
  .option('--clients <list>', 'connections reading at once, comma-separated (the first is the baseline)', '1,16,64')
  .option('--users <n>', 'users holding 100 sequence actions each', (v) => Number(v), 200)
  .option('--reads <n>', 'reads of each kind per round and client count', (v) => Number(v), 4_000)
  .option('--rounds <n>', 'rounds (the median is reported)', (v) => Number(v), 5)
  .option('--smoke', 'tiny sizes: checks that every kind reads in full; times nothing', false)
  .parse()
  .opts<{ clients: string; users: number; reads: number; rounds: number; smoke: boolean }>();
if (opts.smoke) Object.assign(opts, { clients: '1,4', users: 10, reads: 40, rounds: 1 });
const CLIENTS = opts.clients.split(',').map(Number);
if (CLIENTS.some((c) => !Number.isInteger(c) || c < 1 || c > 512)) throw new Error(`--clients: whole numbers from 1 to 512, got ${opts.clients}`);

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ACTIONS = 100;
const NOW = Date.now();
const WINDOW = { asOfMs: NOW, limit: ACTIONS };
const runPrefix = `bench:fs-clients:${process.pid}_${NOW}:`;
const log = progressLog();

/** One kind of read, on `clients` connections of its own: reads user `u<i % users>`, resolves with the actions read. */
interface ReadKind {
  name: string;
  connect(clients: number): Promise<{ read: (client: number, user: string) => Promise<number>; close: () => Promise<void> }>;
}

const KINDS: ReadKind[] = [
  ...REDIS_LAYOUTS.map(
    (layout): ReadKind => ({
      name: `Redis backend, ${layout} layout`,
      async connect(clients) {
        const stores = await Promise.all(Array.from({ length: clients }, () => RedisActionStore.open({ url: REDIS_URL, keyPrefix: `${runPrefix}${layout}:`, retention: DEFAULT_RETENTION, layout })));
        return {
          read: async (c, user) => (await (stores[c] as RedisActionStore).readSequence(user, WINDOW)).length,
          close: async () => void (await Promise.all(stores.map((s) => s.close()))),
        };
      },
    }),
  ),
  {
    name: `plain LRANGE 0 ${ACTIONS - 1} of the same record bytes`,
    async connect(clients) {
      const conns = Array.from({ length: clients }, () => new Redis(REDIS_URL));
      return {
        read: async (c, user) => (await (conns[c] as Redis).lrangeBuffer(`${runPrefix}lr:${user}`, 0, ACTIONS - 1)).length,
        close: async () => void (await Promise.all(conns.map((r) => r.quit()))),
      };
    },
  },
];

async function main(): Promise<void> {
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; writing ${f(opts.users)} users × ${ACTIONS} actions in each layout and as lists`);
  const admin = new Redis(REDIS_URL);
  const writers = await Promise.all(REDIS_LAYOUTS.map((layout) => RedisActionStore.open({ url: REDIS_URL, keyPrefix: `${runPrefix}${layout}:`, retention: DEFAULT_RETENTION, layout })));
  const opened: Array<{ close: () => Promise<void> }> = [];
  try {
    const all = Array.from({ length: opts.users * ACTIONS }, (_, i) => benchAction(i, opts.users, NOW));
    for (let from = 0; from < all.length; from += 500) {
      const batch = all.slice(from, from + 500);
      for (const w of writers) await w.append(batch);
      const p = admin.pipeline();
      for (const r of batch) p.lpush(`${runPrefix}lr:${r.userId}`, encodeRecord(r));
      await p.exec();
    }
    // Every kind at every client count, connected up front (connections stay open between rounds).
    const cells: Array<{ kind: ReadKind; clients: number; conn: Awaited<ReturnType<ReadKind['connect']>>; cpu: number[]; rate: number[] }> = [];
    for (const kind of KINDS) {
      for (const clients of CLIENTS) {
        const conn = await kind.connect(clients);
        opened.push(conn);
        cells.push({ kind, clients, conn, cpu: [], rate: [] });
      }
    }
    const serverCpu = await BusyCpu.measure([admin], opts.smoke ? 100 : 1_000);
    log(`${opts.rounds} rounds of ${f(opts.reads)} reads per kind and client count; server idle ${f((serverCpu.idlePerMs[0] as number) * 1000)} µs/s`);
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < cells.length; k++) {
        const cell = cells[(round + k) % cells.length] as (typeof cells)[number];
        let next = 0;
        const { micros, ms } = await serverCpu.during(() =>
          Promise.all(
            Array.from({ length: cell.clients }, async (_, c) => {
              while (next < opts.reads) {
                const i = next++;
                const got = await cell.conn.read(c, `u${i % opts.users}`);
                if (got !== ACTIONS) throw new Error(`${cell.kind.name}: read ${got} actions, expected ${ACTIONS}`);
              }
            }),
          ),
        );
        cell.cpu.push((micros[0] as number) / opts.reads);
        cell.rate.push(opts.reads / (ms / 1000));
      }
    }
    if (cells.some((c) => !Number.isFinite(p50(c.cpu)))) throw new Error('INFO cpu was not readable');
    const cpuOf = (kind: ReadKind, clients: number): number => p50(cells.find((c) => c.kind === kind && c.clients === clients)?.cpu ?? []);
    const lrange = KINDS[KINDS.length - 1] as ReadKind;
    const rows = [
      `Redis server CPU per read of ${ACTIONS} actions (INFO cpu, idle rate taken out), median of ${opts.rounds} rounds; one read in flight per connection.`,
      '',
      '| read | connections | server CPU µs per read | vs 1 connection | vs LRANGE, same connections | reads/s (median) |',
      '|---|---:|---:|---:|---:|---:|',
      ...cells.map((c) => {
        const cpu = p50(c.cpu);
        return `| ${c.kind.name} | ${c.clients} | ${f(cpu, 1)} | ${f(cpu / cpuOf(c.kind, CLIENTS[0] as number), 2)}× | ${f(cpu / cpuOf(lrange, c.clients), 2)}× | ${f(p50(c.rate))} |`;
      }),
    ];
    process.stdout.write(`${rows.join('\n')}\n`);
    log(`done; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const c of opened) await c.close();
    for (const w of writers) await w.close();
    await removeKeys(admin, runPrefix);
    await admin.quit();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
