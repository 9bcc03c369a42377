import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { RankResponse, RankerService, RecommendResponse, type RankRequest, type RecommendRequest } from '@pinrank/proto';
import { writeWorld } from '@pinrank/sim';
import { main } from '../cli';
import { type CliIo } from '../io';
import { type LoadReport } from './report';
import { withoutLocalStackTls } from '../remote/no-local-stack-tls';

/** A Ranker whose every 4th call fails with RESOURCE_EXHAUSTED (shedding), recording what it was asked. */
async function startRanker(): Promise<{ port: number; server: Server; ranks: RankRequest[]; recommends: RecommendRequest[]; shed: () => number }> {
  const ranks: RankRequest[] = [];
  const recommends: RecommendRequest[] = [];
  let calls = 0;
  let shed = 0;
  const answer = <T>(make: () => T, cb: sendUnaryData<T>): void => {
    if (calls++ % 4 === 3) {
      shed++;
      cb({ code: status.RESOURCE_EXHAUSTED, details: 'queue full' });
    } else setTimeout(() => cb(null, make()), 2);
  };
  const server = new Server();
  server.addService(RankerService, {
    rank: (call: ServerUnaryCall<RankRequest, RankResponse>, cb: sendUnaryData<RankResponse>) => {
      ranks.push(call.request);
      answer(() => RankResponse.fromPartial({ items: call.request.candidateItemIds.map((itemId, i) => ({ itemId, score: 1 - i / 1000 })) }), cb);
    },
    recommend: (call: ServerUnaryCall<RecommendRequest, RecommendResponse>, cb: sendUnaryData<RecommendResponse>) => {
      recommends.push(call.request);
      answer(() => RecommendResponse.fromPartial({ items: [{ itemId: 'i1', score: 1 }] }), cb);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, server, ranks, recommends, shed: () => shed };
}

describe('pinrank loadgen against a gRPC Ranker', () => {
  withoutLocalStackTls();
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), errIsTty: false };
  const run = (...args: string[]): Promise<number> => main(['node', 'pinrank', 'loadgen', ...args], io);
  let ranker: Awaited<ReturnType<typeof startRanker>>;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-loadgen-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    out = '';
    err = '';
    ranker = await startRanker();
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => ranker.server.tryShutdown(() => resolve()));
  });

  it('open loop: sends the scheduled requests, counts shed calls by status and prints JSON', async () => {
    const items = Array.from({ length: 20 }, (_, i) => `i${i}`).join(',');
    const code = await run('--addr', `127.0.0.1:${ranker.port}`, '--qps', '40', '--duration', '1s', '--warmup', '0', '--users', 'u1,u2,u3', '--items', items, '--candidates', '5', '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const rep = JSON.parse(out) as LoadReport;
    expect(rep).toMatchObject({ mode: 'open', qps: 40, concurrency: null, stoppedBy: 'duration', sent: 40, dropped: 0, warmupSent: 0 });
    expect(ranker.ranks).toHaveLength(40);
    expect(rep.errors).toBe(ranker.shed());
    expect(rep.errorsByStatus).toEqual({ RESOURCE_EXHAUSTED: 10 });
    expect(rep.ok).toBe(30);
    expect(rep.latencyMs.ok.count).toBe(30);
    expect(rep.latencyMs.ok.p50).toBeGreaterThan(0);
    expect(rep.latencyMs.ok.p999).toBeGreaterThanOrEqual(rep.latencyMs.ok.p50);
    expect(rep.throughput).toBeCloseTo(30, 0);
    for (const q of ranker.ranks) {
      expect(['u1', 'u2', 'u3']).toContain(q.userId);
      expect(new Set(q.candidateItemIds).size).toBe(5);
    }
  });

  it('closed loop with --requests prints a latency table and the errors by status', async () => {
    const file = join(dir, 'items.txt');
    await writeFile(file, 'i1\ni2\ni3\n');
    const code = await run('--addr', `127.0.0.1:${ranker.port}`, '--mode', 'closed', '--concurrency', '2', '--requests', '12', '--warmup', '0', '--users', 'u9', '--items-file', file);
    expect(code).toBe(0);
    expect(ranker.ranks).toHaveLength(12);
    expect(ranker.ranks.every((q) => q.candidateItemIds.length === 3)).toBe(true);
    expect(out).toMatch(/closed loop, 2 callers/);
    expect(out).toMatch(/sent 12 {2}ok 9 {2}errors 3/);
    expect(out).toMatch(/^latency ms\s+count\s+p50\s+p90\s+p99\s+p99\.9\s+max\s+mean$/m);
    expect(out).toMatch(/^ok\s+9\s/m);
    expect(out).toMatch(/^RESOURCE_EXHAUSTED\s+3\s+25\.00%$/m);
  });

  it('draws users and candidates from a simulated world and can target Recommend', async () => {
    const world = join(dir, 'world');
    await writeWorld(world, { seed: 3, users: 40, items: 300, days: 1 });
    expect(await run('--addr', `127.0.0.1:${ranker.port}`, '--world', world, '--candidates', '50', '--requests', '8', '--warmup', '0', '--seed', '5', '--json')).toBe(0);
    const firstUsers = ranker.ranks.map((q) => q.userId);
    for (const q of ranker.ranks) {
      expect(q.userId).toMatch(/^u([0-9]|[1-3][0-9])$/);
      expect(q.candidateItemIds).toHaveLength(50);
      expect(new Set(q.candidateItemIds).size).toBe(50);
      for (const id of q.candidateItemIds) expect(Number(id.slice(1))).toBeLessThan(300);
    }
    out = '';
    expect(await run('--addr', `127.0.0.1:${ranker.port}`, '--rpc', 'recommend', '--world', world, '--top-k', '7', '--requests', '4', '--warmup', '0', '--seed', '5', '--json')).toBe(0);
    const rep = JSON.parse(out) as LoadReport;
    expect(rep.target.rpc).toBe('recommend');
    expect(ranker.recommends).toHaveLength(4);
    expect(ranker.recommends.every((q) => q.k === 7)).toBe(true);
    // Same seed, same users in the same order.
    expect(ranker.recommends.map((q) => q.userId)).toEqual(firstUsers.slice(0, 4));
  });

  it('counts an unreachable server as UNAVAILABLE', async () => {
    const port = ranker.port;
    await new Promise<void>((resolve) => ranker.server.tryShutdown(() => resolve()));
    expect(await run('--addr', `127.0.0.1:${port}`, '--requests', '3', '--warmup', '0', '--deadline-ms', '500', '--users', 'u1', '--items', 'i1', '--json')).toBe(0);
    const rep = JSON.parse(out) as LoadReport;
    expect(rep).toMatchObject({ sent: 3, ok: 0, errors: 3, errorsByStatus: { UNAVAILABLE: 3 } });
  });

  it('rejects a run without users or with conflicting modes before sending anything', async () => {
    expect(await run('--addr', `127.0.0.1:${ranker.port}`, '--requests', '3')).toBe(1);
    expect(err).toMatch(/--world DIR, or --users/);
    err = '';
    expect(await run('--addr', `127.0.0.1:${ranker.port}`, '--mode', 'closed', '--qps', '5', '--users', 'u1', '--items', 'i1')).toBe(1);
    expect(err).toMatch(/qps applies to open mode only/);
    expect(ranker.ranks).toHaveLength(0);
  });
});
