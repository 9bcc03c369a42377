// A poison request co-batched with 100 good ones, on a real ONNX Runtime
// session: the value check is bypassed (the batcher runs the session
// directly), so the Gather error happens inside the batch and the batcher
// must split it until only the poison request fails.
import { PinrankError } from '@pinrank/service-kit';
import { DynamicBatcher, type BatchObserver } from './dynamic-batcher';
import { type TensorMap } from './host-tensor';
import { OrtModelSession } from './ort-backend';
import { vocabModel } from './testing/tiny-models';

const VOCAB = 8;
const D = 4;
const S = 5;

const ids = (values: readonly number[]): TensorMap => ({
  ids: { dtype: 'int64', dims: [1, values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) },
});

describe('failure isolation on a real model', () => {
  let session: OrtModelSession;
  beforeAll(async () => {
    session = await OrtModelSession.create(vocabModel(VOCAB, D), { label: 'vocab:1', executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 });
  });
  afterAll(() => session.release());

  it('a poison request co-batched with 100 good ones fails alone; the good ones get the answers they get alone', async () => {
    const good = Array.from({ length: 100 }, (_, r) => Array.from({ length: S }, (_, s) => (r + s) % VOCAB));
    const alone = await Promise.all(good.map((g) => session.run(ids(g))));
    // The poison request really breaks the model: alone it fails inside ONNX Runtime.
    await expect(session.run(ids([1, 2, 99, 3, 4]))).rejects.toThrow(/Gather|out of|bound/i);

    const batches: number[] = [];
    const isolated: Array<Parameters<NonNullable<BatchObserver['onIsolated']>>[0]> = [];
    const batcher = new DynamicBatcher({
      label: 'vocab:1',
      compute: (inputs) => {
        batches.push(inputs['ids']!.dims[0]!);
        return session.run(inputs);
      },
      layout: { mode: 'concat', userInputs: [] },
      // The batch runs once all 101 rows are queued (full), however slow the machine is.
      maxBatchSize: 101,
      maxQueueDelayMs: 60_000,
      queueLimit: 1024,
      observer: { onIsolated: (info) => isolated.push(info) },
    });
    const answers = good.slice(0, 50).map((g) => batcher.enqueue(ids(g)));
    const poison = batcher.enqueue(ids([1, 2, 99, 3, 4]));
    answers.push(...good.slice(50).map((g) => batcher.enqueue(ids(g))));

    const err = (await poison.catch((e: unknown) => e)) as PinrankError;
    expect(err).toBeInstanceOf(PinrankError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).not.toMatch(/Gather|node/i);
    expect(String((err.cause as Error).message)).toMatch(/Gather/);
    const outputs = await Promise.all(answers);
    outputs.forEach((o, i) => expect(Array.from(o['pooled']!.data as Float32Array)).toEqual(Array.from(alone[i]!['pooled']!.data as Float32Array)));

    expect(batches[0]).toBe(101);
    expect(isolated).toEqual([{ requests: 101, runs: batches.length, failed: 1, blamed: 'request' }]);
    // log2(101) ≈ 6.7: the failing path is split 7 times, each split running two halves.
    expect(batches.length).toBeLessThanOrEqual(1 + 2 * 7);
    await batcher.stop();
  });
});
