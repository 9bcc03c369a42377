import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DegradedFlag, VectorKind } from '@pinrank/proto';
import { connect } from 'nats';
import { RotatingFileLog, type RequestLogEntry } from './request-log';
import { eventually, startHarness, type Harness } from './testing/router-harness';

let h: Harness;
let api: Awaited<ReturnType<Harness['router']>>;

beforeAll(async () => {
  h = await startHarness();
  api = await h.router({ recommendCandidates: 15 });
});
afterAll(async () => {
  await h.close();
});

describe('Recommend', () => {
  it('retrieves excluding saved and hidden items, ranks in the retrieval snapshot and returns the top k', async () => {
    const retrieveBefore = h.store.retrieveRequests.length;
    const embBefore = h.store.embeddingRequests.length;
    const res = await api.recommend({ userId: 'u1', k: 5 });
    const retrieve = h.store.retrieveRequests[retrieveBefore];
    expect(retrieve?.query).toEqual({ $case: 'userId', value: 'u1' });
    // Retrieval starts with the sequence read, so it asks for the sequence length (the harness's 12)
    // more and the router takes the exclusions out: u1 saved i1 and hid i2; the click on i3 does not exclude it.
    expect(retrieve?.k).toBe(15 + 12);
    expect(retrieve?.excludeItemIds).toEqual([]);
    expect(res.items).toHaveLength(5);
    expect(res.items.map((i) => i.itemId)).not.toContain('i1');
    expect(res.items.map((i) => i.itemId)).not.toContain('i2');
    expect(res.degraded).toEqual([]);
    expect(res.snapshotVersion).toBe('snap-7');
    const emb = h.store.embeddingRequests.slice(embBefore);
    // The tower lookup is pinned to the version retrieval used; content vectors belong to no snapshot.
    const tower = emb.find((r) => r.kind === VectorKind.VECTOR_KIND_TOWER);
    const content = emb.find((r) => r.kind === VectorKind.VECTOR_KIND_CONTENT);
    expect(emb).toHaveLength(2);
    expect(tower?.snapshotVersion).toBe('snap-7');
    expect(content?.snapshotVersion).toBe('');
    expect(content?.itemIds).toHaveLength(15);
    // The best 5 of the 15 retrieved items by utility.
    const want = content?.itemIds.map((id) => ({ id, ...h.expected('u1', id) })).sort((a, b) => b.score - a.score) ?? [];
    expect(res.items.map((i) => i.itemId)).toEqual(want.slice(0, 5).map((w) => w.id));
    expect(res.timings.map((t) => t.stage).sort()).toEqual(['content', 'encoder', 'features', 'heads', 'retrieve', 'total', 'tower']);
  });

  it('reads the sequence first and sends the exclusions where over-fetching would pass retrieval\'s 1000', async () => {
    const wide = await h.router({ recommendCandidates: 995, maxCandidates: 1000 });
    const before = h.store.retrieveRequests.length;
    const res = await wide.recommend({ userId: 'u1', k: 5 });
    const retrieve = h.store.retrieveRequests[before];
    expect(retrieve?.k).toBe(995);
    expect([...(retrieve?.excludeItemIds ?? [])].sort()).toEqual(['i1', 'i2']);
    expect(res.items.map((i) => i.itemId)).not.toContain('i1');
    const features = res.timings.find((t) => t.stage === 'features');
    const retrieval = res.timings.find((t) => t.stage === 'retrieve');
    expect((retrieval?.startMs ?? 0) >= (features?.startMs ?? 0) + (features?.ms ?? 0) - 0.01).toBe(true);
  });

  it('falls back to the popularity list for a user unknown to retrieval, flagged', async () => {
    const res = await api.recommend({ userId: 'ghost', k: 4 });
    expect(res.degraded).toEqual(
      expect.arrayContaining([DegradedFlag.DEGRADED_FLAG_POPULARITY_FALLBACK, DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING]),
    );
    const ids = res.items.map((i) => i.itemId);
    expect(ids).toHaveLength(4);
    // ghost saved i0 (the most popular item): excluded from the fallback too.
    expect(ids).not.toContain('i0');
    const popular = new Set(h.items.slice(1, 16));
    for (const id of ids) expect(popular.has(id)).toBe(true);
  });

  it('validates k and candidates', async () => {
    await expect(api.recommend({ userId: 'u1', k: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'k: 0 is out of range; send 1..1000' });
    await expect(api.recommend({ userId: 'u1', k: 5, candidates: 3 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'candidates: 3 is fewer than k=5',
    });
  });
});

describe('request log', () => {
  it('writes one compact JSON line per request, with versions, scores, flags and the experiment arm', async () => {
    const path = join(h.dir, 'logs', 'requests.jsonl');
    const logged = await h.router({
      requestLog: { kind: 'file', path, maxBytes: 1_000_000 },
      experiments: { kind: 'inline', config: { name: 'weights-v2', arms: [{ name: 'hide-averse', share: 1, headWeights: { save: 1, hide: -5 } }] } },
    });
    const rank = await logged.rank({ userId: 'u1', candidateItemIds: ['i4', 'i5', 'nope'] });
    expect(rank.experiment).toBe('weights-v2');
    expect(rank.arm).toBe('hide-averse');
    const want = ['i4', 'i5'].map((id) => ({ id, ...h.expected('u1', id, { save: 1, hide: -5 }) })).sort((a, b) => b.score - a.score);
    expect(rank.items[0]?.score).toBeCloseTo(want[0]?.score ?? NaN, 4);
    await logged.recommend({ userId: 'u1', k: 2 });
    let lines: RequestLogEntry[] = [];
    await eventually(() => {
      lines = readLines(path);
      return lines.length === 2;
    });
    const [first, second] = lines;
    expect(first).toMatchObject({
      requestId: rank.requestId,
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      method: 'Rank',
      userId: 'u1',
      candidates: 3,
      heads: ['save', 'click', 'hide'],
      modelVersions: { transact_encoder: '1', ranking_heads: '1' },
      snapshotVersion: 'snap-7',
      degraded: ['DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED'],
      unknownItemIds: ['nope'],
      experiment: 'weights-v2',
      arm: 'hide-averse',
      assignments: [['default', 'weights-v2', 'hide-averse']],
    });
    expect(first?.items.map((i) => i[0])).toEqual(rank.items.map((i) => i.itemId));
    expect(first?.items[0]?.[2]).toHaveLength(3);
    expect(second).toMatchObject({ method: 'Recommend', userId: 'u1' });
    expect(second?.items).toHaveLength(2);
  });

  it('publishes entries on a NATS subject', async () => {
    const subject = `pinrank.test.ranker.${process.pid}.${Date.now()}`;
    const nc = await connect({ servers: '127.0.0.1:4222' });
    try {
      const sub = nc.subscribe(subject, { max: 1 });
      const logged = await h.router({ requestLog: { kind: 'nats', servers: 'nats://127.0.0.1:4222', subject } });
      const rank = await logged.rank({ userId: 'u2', candidateItemIds: ['i7', 'i8'] });
      let entry: RequestLogEntry | undefined;
      for await (const msg of sub) entry = JSON.parse(new TextDecoder().decode(msg.data)) as RequestLogEntry;
      expect(entry).toMatchObject({ requestId: rank.requestId, method: 'Rank', userId: 'u2', snapshotVersion: 'snap-7' });
      expect(entry?.items.map((i) => i[0])).toEqual(rank.items.map((i) => i.itemId));
    } finally {
      await nc.close();
    }
  });

  function readLines(path: string): RequestLogEntry[] {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RequestLogEntry);
  }
});

it('rotates the request log file by size', async () => {
  const path = join(h.dir, 'rot', 'r.jsonl');
  const log = await RotatingFileLog.open(path, 1024, 2, (err) => {
    throw err;
  });
  const entry = (i: number): RequestLogEntry => ({
    ts: i,
    requestId: `r${i}`,
    traceId: '0'.repeat(32),
    method: 'Rank',
    userId: 'u'.repeat(300),
    requestTimeMs: 0,
    candidates: 1,
    items: [],
    heads: [],
    modelVersions: {},
    snapshotVersion: '',
    degraded: [],
    unknownItemIds: [],
  });
  for (let i = 0; i < 12; i++) log.write(entry(i));
  await log.close();
  const current = (await readFile(path, 'utf8')).trim().split('\n');
  const older = (await readFile(`${path}.1`, 'utf8')).trim().split('\n');
  const oldest = (await readFile(`${path}.2`, 'utf8')).trim().split('\n');
  expect(current.length).toBeGreaterThan(0);
  const ids = [...oldest, ...older, ...current].map((l) => (JSON.parse(l) as RequestLogEntry).requestId);
  // Only the newest files are kept, in order, each under the size limit.
  expect(ids[ids.length - 1]).toBe('r11');
  expect(ids).toEqual([...ids].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  await expect(readFile(`${path}.3`, 'utf8')).rejects.toThrow();
  for (const f of [path, `${path}.1`, `${path}.2`]) expect(Buffer.byteLength(await readFile(f, 'utf8'))).toBeLessThanOrEqual(1024);
});
