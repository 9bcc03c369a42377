import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PinrankError } from '@pinrank/service-kit';
import { type ModelConfig } from '@pinrank/contracts';
import { Registry } from 'prom-client';
import { type TensorMap } from './host-tensor';
import { InferenceMetrics } from './inference-metrics';
import { type ModelLifecycle } from './model-lifecycle';
import { ModelRepository } from './model-repository';
import { ModelRepositoryManager } from './model-repository-manager';
import { gatherConfig, gatherModel, seededFloats, vocabConfig, vocabModel, writeVersion } from './testing/tiny-models';
import { gatherTables } from './value-domain';

const ids = (rows: number, cols: number, value: (k: number) => number = (k) => k % 8): TensorMap => ({
  ids: { dtype: 'int64', dims: [rows, cols], data: BigInt64Array.from({ length: rows * cols }, (_, k) => BigInt(value(k))) },
});

async function failure(p: Promise<unknown>): Promise<PinrankError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PinrankError)) throw new Error(`expected a PinrankError, got ${String(err)}`);
  return err;
}

describe('request limits from the model config and graph', () => {
  let root: string;
  let manager: ModelRepositoryManager | undefined;
  let registry: Registry;

  const start = async (configs: Array<[ModelConfig, Uint8Array]>, cap?: number): Promise<ModelLifecycle> => {
    for (const [config, model] of configs) await writeVersion(root, config, model);
    registry = new Registry();
    manager = new ModelRepositoryManager({
      repository: new ModelRepository(root),
      intraOpThreads: 1,
      interOpThreads: 1,
      metrics: new InferenceMetrics(registry),
      ...(cap ? { maxBatchSizeCap: cap } : {}),
    });
    await manager.loadAll();
    return manager.lifecycle;
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-limits-'));
  });
  afterEach(async () => {
    await manager?.close();
    manager = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('finds the table a Gather indexes with an input', () => {
    expect(gatherTables(vocabModel(8, 4))).toEqual([{ input: 'ids', table: 'table', rows: 8 }]);
    expect(gatherTables(gatherModel(4, 5))).toEqual([]); // gathers a computed tensor, not a stored table
  });

  it('refuses values outside the embedding table before batching, even when the config declares no domain', async () => {
    const m = await start([[vocabConfig('vocab', '1', 4), vocabModel(8, 4)]]);
    expect((await m.infer('vocab', '', ids(2, 3), [])).outputs[0]![1].dims).toEqual([2, 4]);
    const err = await failure(m.infer('vocab', '', ids(2, 3, (k) => (k === 4 ? 99 : 1)), []));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('model vocab:1: input "ids" holds 99 at flat index 4; allowed values are -8..7 (the rows of a table in the model)');
    expect(await registry.metrics()).toMatch(/inference_rejections_total\{model="vocab",version="1",reason="invalid"\} 1/);
    expect(await registry.metrics()).not.toMatch(/inference_batches_total\{[^}]*outcome="error"/);
  });

  it('enforces a declared domain, and refuses to load a config whose domain reaches outside the table', async () => {
    const declared = vocabConfig('vocab', '1', 4, { inputs: [{ name: 'ids', dtype: 'int64', shape: [-1, -1], values: { min: 0, max: 7 } }] });
    const tooWide = vocabConfig('wide', '1', 4, { inputs: [{ name: 'ids', dtype: 'int64', shape: [-1, -1], values: { min: 0, max: 8 } }] });
    const m = await start([
      [declared, vocabModel(8, 4)],
      [tooWide, vocabModel(8, 4)],
    ]);
    const negative = await failure(m.infer('vocab', '', ids(1, 2, () => -1), []));
    expect(negative.message).toMatch(/holds -1 at flat index 0; allowed values are 0\.\.7$/);
    const wide = m.index().find((r) => r.name === 'wide')!;
    expect(wide.state).toBe('UNAVAILABLE');
    expect(wide.reason).toBe(
      'request limits do not fit the model: input "ids" may hold values up to 8 (config values.max) but the model looks them up in "table", which has 8 rows (0..7)',
    );
  });

  it('bounds rows by the batch size, named axes by limits.axes, and work by limits.work; refuses empty axes', async () => {
    const config = vocabConfig('vocab', '1', 4, {
      batching: { mode: 'concat', maxBatchSize: 16, maxQueueDelayMs: 1, queueLimit: 8, userInputs: [] },
      limits: { axes: { S: 6 }, work: { axes: ['N', 'S'], max: 40 } },
    });
    const m = await start([[config, vocabModel(8, 4)]]);
    await expect(m.infer('vocab', '', ids(6, 6), [])).resolves.toBeDefined(); // work 36
    expect((await failure(m.infer('vocab', '', ids(17, 1), []))).message).toBe(
      'model vocab:1: input "ids" has 17 rows on axis N; at most 16 rows (the batch size) per request',
    );
    expect((await failure(m.infer('vocab', '', ids(1, 7), []))).message).toBe(
      'model vocab:1: input "ids" has 7 elements on axis S; at most 6 along axis S per request',
    );
    expect((await failure(m.infer('vocab', '', ids(8, 6), []))).message).toBe(
      'model vocab:1: request too large: N×S = N=8 × S=6 = 48; at most 40 per request (send fewer rows or shorter sequences)',
    );
    const empty = await failure(m.infer('vocab', '', ids(2, 0), []));
    expect(empty).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/has an empty axis 1 \(\[2,0\]\)/) });
  });

  it('scales the work bound with a worker batch-size cap', async () => {
    const config = vocabConfig('vocab', '1', 4, {
      batching: { mode: 'concat', maxBatchSize: 16, maxQueueDelayMs: 1, queueLimit: 8, userInputs: [] },
      limits: { axes: {}, work: { axes: ['N', 'S'], max: 40 } },
    });
    const m = await start([[config, vocabModel(8, 4)]], 8);
    expect((await failure(m.infer('vocab', '', ids(7, 3), []))).message).toMatch(/= 21; at most 20 per request/);
  });

  it('refuses to load limits that name an axis the model does not have', async () => {
    const m = await start([[vocabConfig('vocab', '1', 4, { limits: { axes: { Q: 3 } } }), vocabModel(8, 4)]]);
    expect(m.index()[0]).toMatchObject({ state: 'UNAVAILABLE', reason: 'request limits do not fit the model: limits name axis "Q", which no input of the model has (its named axes: N, S)' });
  });

  it('requires inputs that share a symbolic axis to agree on it', async () => {
    const m = await start([[gatherConfig('enc', '1', 4, 5), gatherModel(4, 5)]]);
    const inputs: TensorMap = {
      seq: { dtype: 'float32', dims: [1, 2, 4], data: seededFloats(8, 1) },
      cand: { dtype: 'float32', dims: [3, 4], data: seededFloats(12, 2) },
      cand_user_idx: { dtype: 'int64', dims: [2], data: new BigInt64Array(2) },
    };
    expect((await failure(m.infer('enc', '', inputs, []))).message).toBe('model enc:1: inputs "cand" and "cand_user_idx" must agree on axis N: 3 vs 2');
  });
});
