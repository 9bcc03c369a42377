import { type SequenceAction, buildSequence } from '@pinrank/features';
import { ActionType, Surface } from '@pinrank/proto';
import { exportOnnx } from '../run/onnx-export';
import { createCpuSession, runOnnx } from '../run/onnx-run';
import { maxAbsDiff } from '../testing/parity';
import { WeightStore } from '../weights/weight-store';
import { PINNERFORMER_ACTION_TYPES, pinnerformerFeeds, transactFeeds } from './feeds';
import { type FeedTensor } from './model-definition';
import { pinnerformer } from './pinnerformer';
import { transactEncoder } from './transact-encoder';

const AS_OF = Date.UTC(2026, 2, 1);
const action = (id: string, type: ActionType, secondsAgo: number, fill: number): SequenceAction => ({
  actionId: id,
  itemId: `item-${id}`,
  actionType: type,
  timestampMs: AS_OF - secondsAgo * 1000,
  surface: Surface.SURFACE_SEARCH,
  durationMs: 4000,
  vector: new Float32Array(32).fill(fill),
});
/** The first three values of a feed, as plain numbers. */
const head3 = (f: FeedTensor | undefined): number[] =>
  f!.dtype === 'int64' ? Array.from(f!.data.slice(0, 3), Number) : Array.from(f!.data.slice(0, 3));
const history = [
  action('a', ActionType.ACTION_TYPE_SAVE, 30, 0.1),
  action('b', ActionType.ACTION_TYPE_IMPRESSION, 60, 0.2),
  action('c', ActionType.ACTION_TYPE_CLICK, 600, -0.3),
  action('d', ActionType.ACTION_TYPE_HIDE, 900, 0.4),
];

describe('feeds from @pinrank/features sequences', () => {
  it('pinnerformerFeeds carries surfaces, log durations and ages; the model runs on them', async () => {
    const seq = buildSequence(history, { asOfMs: AS_OF, maxLen: 16, includeTypes: PINNERFORMER_ACTION_TYPES });
    const feeds = pinnerformerFeeds([seq, buildSequence([], { asOfMs: AS_OF, maxLen: 16 })]);
    expect(head3(feeds['action_types'])).toEqual([3, 2, 0]);
    expect(head3(feeds['surfaces'])).toEqual([2, 2, 0]);
    expect(feeds['log_durations']!.data[0]).toBeCloseTo(Math.log1p(4), 6);
    expect(head3(feeds['ages_s'])).toEqual([30, 600, -1]);
    expect(feeds['item_vectors']!.shape).toEqual([2, 16, 32]);
    const session = await createCpuSession(exportOnnx(pinnerformer({ maxLen: 16 }), WeightStore.seeded(1)));
    const out = (await runOnnx(session, feeds))['user_embedding']!;
    await session.release();
    expect(out.shape).toEqual([2, 64]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });

  it('transactFeeds stacks users and gives the same output as one-user calls', async () => {
    const s1 = buildSequence(history, { asOfMs: AS_OF, maxLen: 20 });
    const s2 = buildSequence(history.slice(2), { asOfMs: AS_OF, maxLen: 20 });
    const cand = new Float32Array(64).map((_, i) => Math.sin(i));
    const session = await createCpuSession(exportOnnx(transactEncoder(), WeightStore.seeded(1)));
    const both = (await runOnnx(session, transactFeeds([s1, s2], { vectors: cand, userIdx: [0, 1] })))['encoded']!;
    const second = (await runOnnx(session, transactFeeds([s2], { vectors: cand.slice(32), userIdx: [0] })))['encoded']!;
    await session.release();
    expect(maxAbsDiff(both.data.slice(1056), second.data)).toBeLessThanOrEqual(1e-5);
    expect(() => transactFeeds([s1], { vectors: cand, userIdx: [0, 1] })).toThrow('user row 1 is not in 0..0');
    expect(() => transactFeeds([s1], { vectors: cand, userIdx: [0] })).toThrow('expected 1×32');
  });
});
