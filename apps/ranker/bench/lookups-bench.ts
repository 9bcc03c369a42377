// The router's three lookups of one Rank (the realtime sequence, content and
// tower vectors of the candidates), sent together as the router sends them
// (its own GrpcUpstreams) from this process to a real feature-server and
// embedding-store in their own processes: over lookup streams vs unary calls,
// back to back vs after the upstreams sat idle (a sequential Rank leaves them
// idle while a worker computes). Modes and gaps interleave request by request,
// so machine noise hits them alike; read the ratios. A second part times
// Recommend's first two calls both ways: the sequence (with records) and then
// retrieval with the saved and hidden items excluded, against both at once with
// retrieval over-fetching by the sequence length (what the router does).
//   npx tsx apps/ranker/bench/lookups-bench.ts [--rounds 200] [--warmup 20] [--candidates 100] [--gaps 0,40,250] [--smoke]
import { parseArgs } from 'node:util';
import { VectorKind } from '@pinrank/proto';
import { RequestDeadline } from '../src/router/deadline';
import { RequestContext } from '../src/router/request-context';
import { GrpcUpstreams } from '../src/router/upstreams';
import { Stack } from './stack';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    candidates: { type: 'string', default: '100' },
    gaps: { type: 'string', default: '0,40,250' },
    smoke: { type: 'boolean', default: false },
  },
});
if (args.smoke) Object.assign(args, { rounds: '6', warmup: '2', gaps: '0,5' });
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const N = Number(args.candidates);
const GAPS = String(args.gaps).split(',').map(Number);
const ITEMS = 2000;
const USERS = 20;
const MODES = ['streams', 'unary'] as const;
/** Items Recommend retrieves by default (RANKER_RECOMMEND_CANDIDATES). */
const RECOMMEND_K = 200;

const median = (xs: readonly number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: readonly number[], p: number): number => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function main(): Promise<void> {
  const stack = new Stack();
  const ups = { streams: undefined as GrpcUpstreams | undefined, unary: undefined as GrpcUpstreams | undefined };
  try {
    await stack.startUpstreams({ items: ITEMS, users: USERS, actionsPerUser: 120, pinnerformerVersion: '1' });
    ups.streams = new GrpcUpstreams(stack.featureServer, stack.embeddingStore, {}, { lookupStreams: true });
    ups.unary = new GrpcUpstreams(stack.featureServer, stack.embeddingStore, {}, { lookupStreams: false });
    // [mode, gap] → per round: [sequence, content, tower, all three] ms after the first was sent.
    const samples = new Map<string, number[][]>();
    for (let r = 0; r < WARMUP + ROUNDS; r++) {
      for (const gap of GAPS) {
        for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
          const up = ups[mode] as GrpcUpstreams;
          if (gap > 0) await new Promise((z) => setTimeout(z, gap));
          const userId = stack.userIds[r % USERS] ?? '';
          const itemIds = Array.from({ length: N }, (_, k) => stack.itemIds[(r * 7 + k * 13) % ITEMS] ?? '');
          const ctx = new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 10_000, 5) });
          const t0 = performance.now();
          const at = (p: Promise<unknown>): Promise<number> => p.then(() => performance.now() - t0);
          const times = await Promise.all([
            at(
              up.sequence({ userId, asOfMs: Date.now(), length: 100, width: 32, includeRecords: false, timeoutMs: 5000 }, ctx).then((s) => {
                if (s.failure) throw new Error(`lookups bench: ${s.failure}`);
                if (s.sequence.length === 0) throw new Error(`lookups bench: ${userId} has an empty sequence`);
              }),
            ),
            at(up.getEmbeddings({ itemIds, kind: VectorKind.VECTOR_KIND_CONTENT }, { timeoutMs: 5000 }, ctx).then((e) => check(e.itemIds.length))),
            at(up.getEmbeddings({ userId, itemIds, kind: VectorKind.VECTOR_KIND_TOWER }, { timeoutMs: 5000 }, ctx).then((e) => check(e.itemIds.length))),
          ]);
          if (r >= WARMUP) {
            const key = `${mode}|${gap}`;
            const rows = samples.get(key) ?? [];
            rows.push([...times, Math.max(...times)]);
            samples.set(key, rows);
          }
        }
      }
    }
    const col = (key: string, i: number): number[] => (samples.get(key) ?? []).map((row) => row[i] ?? NaN);
    console.log(`The three lookups of one Rank (sequence S=100; content and tower vectors of ${N} candidates), sent together; ${ROUNDS} rounds (+${WARMUP} warm-up), modes and gaps interleaved.`);
    console.log('');
    console.log('| upstreams idle before | lookups as | sequence p50 ms | content p50 ms | tower p50 ms | all three p50 / p99 ms | all three, streams ÷ unary (p50) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const gap of GAPS) {
      for (const mode of MODES) {
        const key = `${mode}|${gap}`;
        const all = col(key, 3);
        const ratio = mode === 'streams' ? `${(median(all) / median(col(`unary|${gap}`, 3))).toFixed(2)}×` : '';
        console.log(`| ${gap} ms | ${mode} | ${[0, 1, 2].map((i) => median(col(key, i)).toFixed(2)).join(' | ')} | ${median(all).toFixed(2)} / ${pct(all, 99).toFixed(2)} | ${ratio} |`);
      }
    }
    const base = median(col(`streams|${GAPS[0]}`, 3));
    console.log('');
    console.log(`All three over streams, after idleness ÷ back to back (${GAPS[0]} ms): ${GAPS.slice(1).map((g) => `${g} ms ${(median(col(`streams|${g}`, 3)) / base).toFixed(2)}×`).join(', ')}`);
    await recommendFront(stack, ups.streams);
  } finally {
    ups.streams?.close();
    ups.unary?.close();
    await stack.stop();
  }
}

/**
 * Recommend's first two calls, both ways, interleaved: the sequence with records then retrieval
 * of RECOMMEND_K items excluding the saved and hidden ones ("after"), against both at once with
 * retrieval of RECOMMEND_K + S items and the exclusions applied to its answer ("together").
 */
async function recommendFront(stack: Stack, up: GrpcUpstreams): Promise<void> {
  const S = 100;
  const times: Record<'after' | 'together', number[]> = { after: [], together: [] };
  // Per round, how many of the items one way kept the other kept too (both ask the same index).
  const overlaps: number[] = [];
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const keptBy: Partial<Record<'after' | 'together', string[]>> = {};
    for (const way of r % 2 === 0 ? (['after', 'together'] as const) : (['together', 'after'] as const)) {
      const userId = stack.userIds[r % USERS] ?? '';
      const ctx = new RequestContext({ deadline: RequestDeadline.fromCall(undefined, 10_000, 5) });
      const sequence = (): ReturnType<GrpcUpstreams['sequence']> =>
        up.sequence({ userId, asOfMs: Date.now(), length: S, width: 32, includeRecords: true, timeoutMs: 5000 }, ctx).then((s) => {
          if (s.failure) throw new Error(`lookups bench: ${s.failure}`);
          return s;
        });
      const retrieve = (k: number, excludeItemIds: string[]): Promise<string[]> =>
        up.retrieve({ query: { $case: 'userId', value: userId }, k, excludeItemIds, snapshotVersion: '' }, { timeoutMs: 5000 }, ctx).then((res) => res.items.map((i) => i.itemId));
      const t0 = performance.now();
      let kept: string[];
      if (way === 'after') {
        const s = await sequence();
        kept = await retrieve(RECOMMEND_K, [...new Set(s.sequence.savedOrHidden)]);
      } else {
        const [s, items] = await Promise.all([sequence(), retrieve(RECOMMEND_K + S, [])]);
        const excluded = new Set(s.sequence.savedOrHidden);
        kept = items.filter((id) => !excluded.has(id)).slice(0, RECOMMEND_K);
      }
      if (kept.length !== RECOMMEND_K) throw new Error(`lookups bench: ${way}: ${kept.length} of ${RECOMMEND_K} items retrieved`);
      if (r >= WARMUP) times[way].push(performance.now() - t0);
      keptBy[way] = kept;
    }
    const after = new Set(keptBy.after);
    overlaps.push((keptBy.together ?? []).filter((id) => after.has(id)).length);
  }
  console.log('');
  console.log(`Recommend's sequence read and retrieval of ${RECOMMEND_K} items (S=${S}); ${ROUNDS} rounds (+${WARMUP} warm-up), interleaved.`);
  console.log('');
  console.log('| retrieval | p50 ms | p99 ms |');
  console.log('|---|---|---|');
  console.log(`| after the sequence, exclusions sent | ${median(times.after).toFixed(2)} | ${pct(times.after, 99).toFixed(2)} |`);
  console.log(`| with the sequence, ${RECOMMEND_K}+${S} retrieved, exclusions applied after | ${median(times.together).toFixed(2)} | ${pct(times.together, 99).toFixed(2)} |`);
  console.log('');
  console.log(`Together ÷ after: p50 ${(median(times.together) / median(times.after)).toFixed(2)}×, p99 ${(pct(times.together, 99) / pct(times.after, 99)).toFixed(2)}×`);
  console.log(`Same ${RECOMMEND_K} items both ways in ${overlaps.filter((o) => o === RECOMMEND_K).length} of ${overlaps.length} rounds; fewest in common ${Math.min(...overlaps)}`);
}

function check(found: number): void {
  if (found !== N) throw new Error(`lookups bench: ${found} of ${N} candidates found`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
