import { type InferenceSession } from 'onnxruntime-node';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { maxAbsDiff } from '../testing/parity';
import { SeededRandom } from '../weights/seeded-random';
import { WeightStore } from '../weights/weight-store';
import { type Feeds, floatFeed, int64Feed } from './model-definition';
import { transactEncoder } from './transact-encoder';

const DC = 32;
const OUT = 1056;
const EXACT = 1e-5;

interface Action {
  type: number;
  age: number;
  vector: number[];
}

const rng = new SeededRandom(99);
const randomVector = (): number[] => Array.from({ length: DC }, () => rng.normal() * 0.5);
const realActions = (n: number): Action[] =>
  Array.from({ length: n }, (_, i) => ({ type: 1 + (i % 5), age: 60 + 400 * i, vector: randomVector() }));
const padding: Action = { type: 0, age: -1, vector: new Array<number>(DC).fill(0) };

/** Feeds for users (each padded to S, newest first) and candidates given as [userRow, vector]. */
function feeds(users: Action[][], candidates: Array<[number, number[]]>, S = 16): Feeds {
  const rows = users.map((u) => [...u, ...new Array<Action>(S - u.length).fill(padding)]);
  const flat = rows.flat();
  return {
    seq_action_types: int64Feed([users.length, S], (i) => flat[i]!.type),
    seq_item_vectors: floatFeed([users.length, S, DC], (i) => flat[Math.floor(i / DC)]!.vector[i % DC]!),
    seq_ages_s: floatFeed([users.length, S], (i) => flat[i]!.age),
    cand_vectors: floatFeed([candidates.length, DC], (i) => candidates[Math.floor(i / DC)]![1][i % DC]!),
    cand_user_idx: int64Feed([candidates.length], (i) => candidates[i]![0]),
  };
}

async function session(hyperparams: Record<string, unknown> = {}): Promise<InferenceSession> {
  return createCpuSession(exportOnnx(transactEncoder(hyperparams), WeightStore.seeded(5)));
}

async function encode(s: InferenceSession, f: Feeds): Promise<Float32Array> {
  const out = (await runOnnx(s, f))['encoded']!;
  expect(out.shape).toEqual([f['cand_user_idx']!.shape[0], OUT]);
  return out.data;
}

const row = (data: Float32Array, i: number): Float32Array => data.slice(i * OUT, (i + 1) * OUT);

describe('transact_encoder serving behaviour (ONNX Runtime, split form)', () => {
  let factorised: InferenceSession;
  const userA = realActions(5);
  const userB = realActions(9);
  const cands = [randomVector(), randomVector(), randomVector(), randomVector()];

  beforeAll(async () => {
    factorised = await session();
  });
  afterAll(async () => {
    await factorised.release();
  });

  it.each([
    ['the split form equals the gathered form (versions 1–3) with a factorised first projection', { form: 'gathered' }, { form: 'split' }],
    ['the gathered form: the factorised first projection equals projecting the plain concatenation', { form: 'gathered', factorised: false }, { form: 'gathered' }],
  ])('%s', async (_name, a, b) => {
    const [sa, sb] = [await session(a), await session(b)];
    for (const users of [[userA, userB], [userB]]) {
      const f = feeds(users, cands.map((c, i) => [i % users.length, c]));
      const [ea, eb] = [await encode(sa, f), await encode(sb, f)];
      expect(maxAbsDiff(ea, eb)).toBeLessThanOrEqual(EXACT);
      expect(ea.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    }
    await sa.release();
    await sb.release();
  });

  it('the split form stays equal to the gathered form when scores spread widely (large inputs)', async () => {
    const big = (v: number[]): number[] => v.map((x) => x * 12);
    const loud = realActions(40).map((a) => ({ ...a, vector: big(a.vector) }));
    const f = feeds([loud, userA], cands.map((c, i) => [i % 2, big(c)]), 48);
    const [gathered, split] = [await session({ form: 'gathered' }), factorised];
    const [eg, es] = [await encode(gathered, f), await encode(split, f)];
    await gathered.release();
    expect(es.every(Number.isFinite)).toBe(true);
    // Post-norm outputs are O(1): the same absolute tolerance applies however large the scores.
    expect(maxAbsDiff(eg, es)).toBeLessThanOrEqual(1e-4);
  });

  it('stacking two users in one call gives each candidate the same output as separate calls', async () => {
    const stacked = await encode(factorised, feeds([userA, userB], [[0, cands[0]!], [1, cands[1]!], [0, cands[2]!], [1, cands[3]!]]));
    const aloneA = await encode(factorised, feeds([userA], [[0, cands[0]!], [0, cands[2]!]]));
    const aloneB = await encode(factorised, feeds([userB], [[0, cands[1]!], [0, cands[3]!]]));
    expect(maxAbsDiff(row(stacked, 0), row(aloneA, 0))).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(row(stacked, 2), row(aloneA, 1))).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(row(stacked, 1), row(aloneB, 0))).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(row(stacked, 3), row(aloneB, 1))).toBeLessThanOrEqual(EXACT);
    // Different users do give different outputs for the same candidate.
    const cross = await encode(factorised, feeds([userA, userB], [[0, cands[0]!], [1, cands[0]!]]));
    expect(maxAbsDiff(row(cross, 0), row(cross, 1))).toBeGreaterThan(1e-3);
  });

  it('padded rows and negative-age rows do not change the output; a real recent action does', async () => {
    const candidate: Array<[number, number[]]> = [[0, cands[0]!]];
    const base = await encode(factorised, feeds([userA], candidate));
    // Padding with garbage contents (type 0) in the slot after the real actions.
    const garbagePad = await encode(factorised, feeds([[...userA, { type: 0, age: 5, vector: randomVector() }]], candidate));
    // A real action type whose age is negative (after the request time) in the same slot.
    const future = await encode(factorised, feeds([[...userA, { type: 2, age: -30, vector: randomVector() }]], candidate));
    // The same action with a positive age is a real action and must count.
    const recent = await encode(factorised, feeds([[...userA, { type: 2, age: 30, vector: randomVector() }]], candidate));
    expect(maxAbsDiff(garbagePad, base)).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(future, base)).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(recent, base)).toBeGreaterThan(1e-3);
  });

  it('sequence length is free: a short user padded to S=4 or to S=16 gives the same output (first K rows zero-filled)', async () => {
    const short = realActions(3);
    const candidate: Array<[number, number[]]> = [[0, cands[1]!]];
    const padded16 = await encode(factorised, feeds([short], candidate));
    const padded4 = await encode(factorised, feeds([short], candidate, 4));
    expect(maxAbsDiff(padded4, padded16)).toBeLessThanOrEqual(EXACT);
  });

  it('candidate rows are independent of each other', async () => {
    const all = await encode(factorised, feeds([userB], cands.map((c) => [0, c])));
    for (let i = 0; i < cands.length; i++) {
      const alone = await encode(factorised, feeds([userB], [[0, cands[i]!]]));
      expect(maxAbsDiff(row(all, i), alone)).toBeLessThanOrEqual(EXACT);
    }
    const changed = await encode(factorised, feeds([userB], cands.map((c, i) => [0, i === 2 ? randomVector() : c])));
    expect(maxAbsDiff(row(changed, 0), row(all, 0))).toBeLessThanOrEqual(EXACT);
    expect(maxAbsDiff(row(changed, 2), row(all, 2))).toBeGreaterThan(1e-3);
  });

  it('an empty sequence gives a finite output that does not depend on padding contents', async () => {
    const empty = await encode(factorised, feeds([[], userA], [[0, cands[0]!], [1, cands[0]!]]));
    expect(empty.every(Number.isFinite)).toBe(true);
    const junk = await encode(factorised, feeds([[{ type: 0, age: 10, vector: randomVector() }], userA], [[0, cands[0]!]]));
    expect(maxAbsDiff(row(empty, 0), junk)).toBeLessThanOrEqual(EXACT);
    // The first K rows of an empty sequence are zeros; only Linear(max-pool) (its bias) remains.
    expect(row(empty, 0).slice(96).every((v) => v === 0)).toBe(true);
  });
});
