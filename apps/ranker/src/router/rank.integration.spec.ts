import { DegradedFlag, VectorKind } from '@pinrank/proto';
import { S, startHarness, type Harness } from './testing/router-harness';

let h: Harness;
let api: Awaited<ReturnType<Harness['router']>>;

beforeAll(async () => {
  h = await startHarness();
  api = await h.router({ maxCandidates: 30 });
});
afterAll(async () => {
  await h.close();
});

const codeOf = async (p: Promise<unknown>): Promise<{ code: string; message: string }> => {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the call to fail');
};

describe('Rank', () => {
  it('sorts by utility with per-head scores, versions, snapshot and timings', async () => {
    const candidates = ['i5', 'i9', 'i0', 'i17', 'i22', 'i30', 'i3', 'i11', 'i26', 'i38'];
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates, requestTimeMs: 1_700_000_000_000 });
    expect(res.items.map((i) => i.itemId).sort()).toEqual([...candidates].sort());
    const want = candidates.map((id) => ({ id, ...h.expected('u1', id) })).sort((a, b) => b.score - a.score);
    expect(res.items.map((i) => i.itemId)).toEqual(want.map((w) => w.id));
    res.items.forEach((item, k) => {
      expect(item.score).toBeCloseTo(want[k]?.score ?? NaN, 4);
      expect(item.headScores['save']).toBeCloseTo(want[k]?.heads.save ?? NaN, 5);
      expect(item.headScores['click']).toBeCloseTo(want[k]?.heads.click ?? NaN, 5);
      expect(item.headScores['hide']).toBeCloseTo(want[k]?.heads.hide ?? NaN, 5);
    });
    expect(res.modelVersions).toEqual({ transact_encoder: '1', ranking_heads: '1' });
    expect(res.snapshotVersion).toBe('snap-7');
    expect(res.degraded).toEqual([]);
    expect(res.requestId).not.toBe('');
    expect(res.timings.map((t) => t.stage).sort()).toEqual(['content', 'encoder', 'features', 'heads', 'total', 'tower']);
  });

  it('reads user and tower vectors in one lookup of one snapshot, beside an unpinned content lookup', async () => {
    const before = h.store.embeddingRequests.length;
    const res = await api.rank({ userId: 'u1', candidateItemIds: ['i4', 'i6'] });
    const requests = h.store.embeddingRequests.slice(before);
    const content = requests.find((r) => r.kind === VectorKind.VECTOR_KIND_CONTENT);
    const tower = requests.find((r) => r.kind === VectorKind.VECTOR_KIND_TOWER);
    expect(requests).toHaveLength(2);
    // Content vectors belong to no snapshot: not pinned, and the store names none for them (embedding_store.proto).
    expect(content).toMatchObject({ userId: '', snapshotVersion: '', itemIds: ['i4', 'i6'] });
    // The tower lookup carries the user, so user and item vectors come from the one version it names.
    expect(tower).toMatchObject({ userId: 'u1', snapshotVersion: '', itemIds: ['i4', 'i6'] });
    expect(res.snapshotVersion).toBe('snap-7');
  });

  it('starts the tower lookup before the content lookup answers (event order), and its stage timings overlap', async () => {
    const order: string[] = [];
    let towerArrived = (): void => undefined;
    const towerSeen = new Promise<void>((resolve) => (towerArrived = resolve));
    h.store.data.beforeAnswer = async (req) => {
      const kind = req.kind === VectorKind.VECTOR_KIND_CONTENT ? 'content' : 'tower';
      order.push(`${kind} received`);
      if (kind === 'tower') towerArrived();
      // Hold the content answer until the tower request is in; a router that waits for it first is released after 2 s and fails below.
      else await Promise.race([towerSeen, new Promise((r) => setTimeout(r, 2000).unref())]);
      order.push(`${kind} answered`);
    };
    try {
      const res = await api.rank({ userId: 'u1', candidateItemIds: ['i4', 'i6', 'i8'] });
      expect(order.indexOf('tower received')).toBeGreaterThanOrEqual(0);
      expect(order.indexOf('tower received')).toBeLessThan(order.indexOf('content answered'));
      const stage = (name: string) => res.timings.find((t) => t.stage === name);
      const content = stage('content');
      const tower = stage('tower');
      expect(content && tower).toBeTruthy();
      // The tower stage started before the content stage ended: the two spans overlap.
      expect(tower!.startMs).toBeLessThan(content!.startMs + content!.ms);
      expect(content!.startMs).toBeLessThan(tower!.startMs + tower!.ms);
    } finally {
      delete h.store.data.beforeAnswer;
    }
  });

  it('pins the tower lookup to an experiment arm\'s snapshot and refuses an answer from another version', async () => {
    const pinned = await h.router({ experiments: { kind: 'inline', config: { layers: [{ name: 'l', experiments: [{ name: 'e', arms: [{ name: 'pin', fraction: 1, snapshotVersion: 'snap-7' }] }] }] } } });
    const before = h.store.embeddingRequests.length;
    const res = await pinned.rank({ userId: 'u1', candidateItemIds: ['i4'] });
    expect(res.snapshotVersion).toBe('snap-7');
    const requests = h.store.embeddingRequests.slice(before);
    expect(requests.find((r) => r.kind === VectorKind.VECTOR_KIND_TOWER)?.snapshotVersion).toBe('snap-7');
    expect(requests.find((r) => r.kind === VectorKind.VECTOR_KIND_CONTENT)?.snapshotVersion).toBe('');
    // The store moved on to another version: the pin is not silently dropped.
    h.store.data.snapshotVersion = 'snap-8';
    try {
      await expect(pinned.rank({ userId: 'u1', candidateItemIds: ['i4'] })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/snapshot snap-7 is not retained/) });
    } finally {
      h.store.data.snapshotVersion = 'snap-7';
    }
  });

  it('sends the sequence once per chunk ([1,S]) and chunks candidates; encoder on the GPU pool, heads on the CPU pool', async () => {
    const gpuBefore = h.gpu.calls.length;
    const cpuBefore = h.cpu.calls.length;
    const candidates = h.items.slice(0, 20);
    await api.rank({ userId: 'u1', candidateItemIds: candidates });
    const enc = h.gpu.calls.slice(gpuBefore);
    const heads = h.cpu.calls.slice(cpuBefore);
    expect(enc.map((c) => c.model)).toEqual(['transact_encoder', 'transact_encoder', 'transact_encoder']);
    expect(enc.map((c) => c.shapes['cand_vectors']?.[0]).sort()).toEqual([4, 8, 8]);
    for (const c of enc) {
      expect(c.shapes['seq_action_types']).toEqual([1, S]);
      expect(c.shapes['seq_item_vectors']).toEqual([1, S, 32]);
      expect(c.version).toBe(''); // not pinned: the worker serves its newest ready version
    }
    expect(heads.map((c) => c.model)).toEqual(['ranking_heads', 'ranking_heads', 'ranking_heads']);
  });

  it('uses request head weights, and top_k keeps the best', async () => {
    const candidates = ['i5', 'i9', 'i0', 'i17', 'i22', 'i30'];
    const weights = { hide: 1 };
    const res = await api.rank({ userId: 'u1', candidateItemIds: candidates, headWeights: weights, topK: 2 });
    const want = candidates.map((id) => ({ id, ...h.expected('u1', id, weights) })).sort((a, b) => b.score - a.score);
    expect(res.items.map((i) => i.itemId)).toEqual(want.slice(0, 2).map((w) => w.id));
    expect(res.items[0]?.score).toBeCloseTo(want[0]?.heads.hide ?? NaN, 5);
  });

  it('drops unknown candidates and lists them, flagged', async () => {
    const res = await api.rank({ userId: 'u1', candidateItemIds: ['i1', 'nope-1', 'i2', 'nope-2'] });
    expect(res.items.map((i) => i.itemId).sort()).toEqual(['i1', 'i2']);
    expect(res.unknownItemIds).toEqual(['nope-1', 'nope-2']);
    expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_UNKNOWN_CANDIDATES_DROPPED]);
  });

  it('flags a user without a PinnerFormer vector and scores with a zero vector', async () => {
    const res = await api.rank({ userId: 'u9', candidateItemIds: ['i1', 'i2', 'i3'] });
    expect(res.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING]);
    const top = res.items[0];
    expect(top?.headScores['save']).toBeCloseTo(0.5, 6);
  });

  it('answers INVALID_ARGUMENT with clear messages', async () => {
    const cases: Array<[Parameters<typeof api.rank>[0], RegExp]> = [
      [{ userId: 'u1', candidateItemIds: [] }, /candidate_item_ids: 0 ids given; send 1\.\.30/],
      [{ userId: 'u1', candidateItemIds: ['i1', 'i2', 'i1'] }, /"i1" appears more than once \(positions 0 and 2\)/],
      [{ userId: 'u1', candidateItemIds: ['i1', 'i2'], topK: 3 }, /top_k: 3 is out of range; send 0 \(all\) or 1\.\.2/],
      [{ userId: 'u1', candidateItemIds: ['i1'], topK: -1 }, /top_k: -1 is out of range/],
      [{ userId: 'u1', candidateItemIds: h.items.slice(0, 31).concat() }, /31 ids given; at most 30 per request/],
      [{ userId: '', candidateItemIds: ['i1'] }, /user_id: required/],
      [{ userId: 'u1', candidateItemIds: ['i1'], headWeights: { like: 1 } }, /head_weights: unknown head "like"; the model's heads are save, click, hide/],
    ];
    for (const [req, message] of cases) {
      const err = await codeOf(api.rank(req));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(message);
    }
  });

  it('refuses unknown candidates when configured to', async () => {
    const strict = await h.router({ unknownCandidates: 'refuse' });
    const err = await codeOf(strict.rank({ userId: 'u1', candidateItemIds: ['i1', 'nope-9'] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/1 unknown item\(s\): nope-9/);
  });

  it('flags or refuses a snapshot from another PinnerFormer version, per config', async () => {
    const strict = await h.router({ snapshotMismatch: 'refuse' });
    h.store.data.producerModelVersion = 'pf-2';
    try {
      const flagged = await api.rank({ userId: 'u1', candidateItemIds: ['i1', 'i2'] });
      expect(flagged.degraded).toEqual([DegradedFlag.DEGRADED_FLAG_SNAPSHOT_VERSION_MISMATCH]);
      expect(flagged.items).toHaveLength(2);
      const err = await codeOf(strict.rank({ userId: 'u1', candidateItemIds: ['i1', 'i2'] }));
      expect(err.code).toBe('FAILED_PRECONDITION');
      expect(err.message).toMatch(/produced by PinnerFormer pf-2; the ranker models name pf-1/);
    } finally {
      h.store.data.producerModelVersion = 'pf-1';
    }
  });

  it('copies the sequence per candidate in per_candidate mode (the layout de-duplication avoids)', async () => {
    const copy = await h.router({ sequenceMode: 'per_candidate' });
    const before = h.gpu.calls.length;
    const candidates = h.items.slice(0, 5);
    const res = await copy.rank({ userId: 'u1', candidateItemIds: candidates });
    const call = h.gpu.calls[before];
    expect(call?.shapes['seq_action_types']).toEqual([5, S]);
    const dedup = await api.rank({ userId: 'u1', candidateItemIds: candidates });
    expect(res.items.map((i) => i.itemId)).toEqual(dedup.items.map((i) => i.itemId));
  });
});
