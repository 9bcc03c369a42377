import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelConfig } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { Registry } from 'prom-client';
import { type TensorMap } from './host-tensor';
import { InferenceMetrics } from './inference-metrics';
import { ModelLifecycle, type ModelLifecycleOptions, type VersionPlan } from './model-lifecycle';
import { MODEL_FILE, ModelRepository } from './model-repository';
import { affineConfig, affineModel, gatherConfig, gatherModel, seededFloats, writeVersion } from './testing/tiny-models';

const x = (n: number, seed = 1): TensorMap => ({ x: { dtype: 'float32', dims: [n, 3], data: seededFloats(n * 3, seed) } });

describe('ModelLifecycle', () => {
  let root: string;
  let repository: ModelRepository;
  let lifecycle: ModelLifecycle | undefined;
  let configReads: number;
  const make = (o: Partial<ModelLifecycleOptions> = {}): ModelLifecycle =>
    (lifecycle = new ModelLifecycle({
      readConfig: (entry) => {
        configReads++;
        return repository.readConfig(entry);
      },
      intraOpThreads: 1,
      interOpThreads: 1,
      ...o,
    }));
  /** What the repository manager would hand over: `selected` among the versions on disk now. */
  const plan = async (name: string, selected: readonly string[], retryFailed = false): Promise<VersionPlan> => {
    const onDisk = await repository.listVersions(name);
    return { selected: onDisk.filter((v) => selected.includes(v.version)), onDisk: onDisk.map((v) => v.version), retryFailed };
  };
  const states = (): string[][] => lifecycle!.index().map((r) => [r.name, r.version, r.state]);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-lifecycle-'));
    repository = new ModelRepository(root);
    configReads = 0;
  });
  afterEach(async () => {
    for (const name of lifecycle?.modelNames() ?? []) await lifecycle!.unloadModel(name, 'test over');
    lifecycle = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('loads a new version before unloading the one it replaces, and keeps serving when the new one is broken', async () => {
    const m = make();
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await m.apply('aff', await plan('aff', ['1']));
    expect(states()).toEqual([['aff', '1', 'READY']]);
    // v2 declares x as [N,4] but the graph takes [N,3]: v1 must stay.
    await writeVersion(root, affineConfig('aff', '2', 4, 2), affineModel(3, 2, 2));
    await m.apply('aff', await plan('aff', ['2']));
    expect(states()).toEqual([
      ['aff', '1', 'READY'],
      ['aff', '2', 'UNAVAILABLE'],
    ]);
    expect((await m.infer('aff', '', x(1), [])).version).toBe('1');
    await writeVersion(root, affineConfig('aff', '3', 3, 2), affineModel(3, 2, 3));
    await m.apply('aff', await plan('aff', ['3']));
    expect(states()).toEqual([['aff', '3', 'READY']]);
    expect(m.readyVersions('aff')).toEqual(['3']);
  });

  it('does not retry files that failed until they change, unless asked to', async () => {
    const m = make();
    const dir = await writeVersion(root, affineConfig('aff', '1', 3, 2), new Uint8Array([1, 2, 3]));
    await m.apply('aff', await plan('aff', ['1']));
    expect(m.index()[0]).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/no execution provider could run aff:1/) });
    await m.apply('aff', await plan('aff', ['1']));
    expect(configReads).toBe(1);
    await m.apply('aff', await plan('aff', ['1'], true));
    expect(configReads).toBe(2);
    await writeFile(join(dir, MODEL_FILE), affineModel(3, 2, 1));
    await m.apply('aff', await plan('aff', ['1']));
    expect(states()).toEqual([['aff', '1', 'READY']]);
  });

  it('reloads a serving version whose files were replaced (new instance first); broken replacements leave the old files serving', async () => {
    const m = make();
    const dir = await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await m.apply('aff', await plan('aff', ['1']));
    const before = (await m.infer('aff', '', x(1), [])).outputs[0]![1].data;
    const replace = async (bytes: Uint8Array, mtimeS: number): Promise<void> => {
      await writeFile(join(dir, MODEL_FILE), bytes);
      await utimes(join(dir, MODEL_FILE), mtimeS, mtimeS); // a distinct signature even for same-size files
    };
    await replace(affineModel(3, 2, 2), 1_000_000);
    await m.apply('aff', await plan('aff', ['1']));
    const after = (await m.infer('aff', '', x(1), [])).outputs[0]![1].data;
    expect(after).not.toEqual(before);
    await replace(new Uint8Array([9, 9, 9]), 2_000_000);
    await m.apply('aff', await plan('aff', ['1']));
    expect(m.index()[0]).toMatchObject({ state: 'READY', reason: expect.stringMatching(/^reload failed, previous files keep serving: /) });
    expect((await m.infer('aff', '', x(1), [])).outputs[0]![1].data).toEqual(after);
  });

  it('lists a version of a placement this worker does not serve as UNAVAILABLE, without loading it', async () => {
    const m = make({ placements: ['cpu'] });
    await writeVersion(root, gatherConfig('enc', '1', 4, 5), gatherModel(4, 5));
    await m.apply('enc', await plan('enc', ['1']));
    expect(m.index()[0]).toMatchObject({ state: 'UNAVAILABLE', reason: 'placement gpu is not served by this worker (serves cpu)' });
    expect(() => m.ready('enc')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', message: 'model "enc" has no ready version' }));
  });

  it('runs user_rows requests unstacked on the cpu provider (each its own batch), and stacks them when per-user calls are off', async () => {
    const batchesFor = async (o: Partial<ModelLifecycleOptions>): Promise<number> => {
      const registry = new Registry();
      const m = make({ metrics: new InferenceMetrics(registry), ...o });
      await m.apply('enc', await plan('enc', ['1']));
      const request = (seed: number): TensorMap => ({
        seq: { dtype: 'float32', dims: [1, 3, 4], data: seededFloats(12, seed) },
        cand: { dtype: 'float32', dims: [2, 4], data: seededFloats(8, seed + 1) },
        cand_user_idx: { dtype: 'int64', dims: [2], data: new BigInt64Array(2) },
      });
      const answers = await Promise.all([1, 2, 3].map((seed) => m.infer('enc', '', request(seed), [])));
      expect(answers.map((a) => a.outputs[0]![1].dims)).toEqual([
        [2, 5],
        [2, 5],
        [2, 5],
      ]);
      const metric = (await registry.getMetricsAsJSON()).find((x) => x.name === 'inference_batches_total');
      await m.unloadModel('enc', 'next case');
      return (metric?.values ?? []).reduce((a, v) => a + v.value, 0);
    };
    await writeVersion(root, gatherConfig('enc', '1', 4, 5, { batching: { maxQueueDelayMs: 50 } as ModelConfig['batching'] }), gatherModel(4, 5));
    expect(await batchesFor({})).toBe(3);
    expect(await batchesFor({ cpuUserRowChunk: 0 })).toBe(1);
  });

  it('finds the ready instance, or says why there is none', async () => {
    const m = make();
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await writeVersion(root, affineConfig('aff', '2', 3, 2), affineModel(3, 2, 2));
    await m.apply('aff', await plan('aff', ['1', '2']));
    expect(m.ready('aff').version).toBe('2');
    expect(m.ready('aff', '1').instance.config.version).toBe('1');
    expect(() => m.ready('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: 'model "nope" is not served here' }));
    expect(() => m.ready('aff', '9')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: 'model "aff" has no version "9"' }));
    await m.unloadModel('aff', 'drained for maintenance');
    expect(() => m.ready('aff', '2')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', message: 'model aff:2 is UNAVAILABLE: drained for maintenance' }));
    expect(m.inflightCount()).toBe(0);
  });

  it('unloads and forgets a model whose versions are all gone from disk', async () => {
    const m = make();
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await m.apply('aff', await plan('aff', ['1']));
    await rm(join(root, 'aff'), { recursive: true });
    await m.apply('aff', await plan('aff', []));
    expect(m.has('aff')).toBe(false);
    expect(m.index()).toEqual([]);
  });

  it('checks requests against the contract with a clear INVALID_ARGUMENT', async () => {
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    const m = make();
    await m.apply('aff', await plan('aff', ['1']));
    const err = await m.infer('aff', '', { x: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) } }, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PinrankError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'model "aff": input "x" expected FP32 [-1,3], got FP32 [1,4]' });
    await expect(m.infer('aff', '', { z: x(1)['x']! }, [])).rejects.toMatchObject({ message: expect.stringMatching(/has no input "z"/) });
    await expect(m.infer('aff', '', x(1), ['nope'])).rejects.toMatchObject({ message: expect.stringMatching(/has no output "nope"/) });
  });

  it('stacks concurrent requests when batching is on, and runs each alone when it is off', async () => {
    await writeVersion(root, affineConfig('aff', '1', 3, 2, { batching: { mode: 'concat', maxBatchSize: 64, maxQueueDelayMs: 5, queueLimit: 64, userInputs: [] } }), affineModel(3, 2, 1));
    const batchesFor = async (batching: boolean): Promise<number> => {
      const registry = new Registry();
      const m = make({ batching, metrics: new InferenceMetrics(registry), warmup: false });
      await m.apply('aff', await plan('aff', ['1']));
      const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => m.infer('aff', '', x(n, n), [])));
      expect(results.map((r) => r.outputs[0]![1].dims[0])).toEqual([1, 2, 3, 4, 5, 6]);
      const metric = (await registry.getMetricsAsJSON()).find((mm) => mm.name === 'inference_batches_total');
      await m.unloadModel('aff', 'test over');
      return (metric?.values ?? []).reduce((a, v) => a + v.value, 0);
    };
    expect(await batchesFor(false)).toBe(6);
    expect(await batchesFor(true)).toBeLessThan(6);
  });

  it('refuses a cap on batch sizes that is not a positive integer', () => {
    expect(() => make({ maxBatchSizeCap: 0 })).toThrow(/maxBatchSizeCap must be an integer >= 1, got 0/);
  });
});
