import { ConfigError } from '@pinrank/service-kit';
import { parseVersionPolicy, readWorkerConfig, workerModelOptions } from './worker-config';

describe('worker configuration', () => {
  it('fills per-role defaults', () => {
    const gpu = readWorkerConfig('gpu', {}, []);
    expect(gpu).toMatchObject({ placements: ['gpu'], intraOpThreads: 2, interOpThreads: 1, versionPolicy: { latest: 1 }, batching: true, watch: 'poll' });
    expect(gpu.executionProviders).toBeUndefined();
    const cpu = readWorkerConfig('cpu', {}, []);
    expect(cpu).toMatchObject({ placements: ['cpu', 'gpu'], intraOpThreads: 0, spinning: false, executionProviders: ['cpu'] });
    const mapped = workerModelOptions(cpu, '/srv');
    expect(mapped.models).toMatchObject({ intraOpThreads: 0, spinning: false, executionProviders: ['cpu'] });
    expect(workerModelOptions(gpu, '/srv').models).not.toHaveProperty('executionProviders');
    // A cpu worker may still be told to try a device first.
    expect(readWorkerConfig('cpu', { RANKER_EXECUTION_PROVIDERS: 'webgpu,cpu' }, []).executionProviders).toEqual(['webgpu', 'cpu']);
    expect(workerModelOptions(readWorkerConfig('cpu', { RANKER_INTRA_OP_SPINNING: 'true' }, []), '/srv').models).toMatchObject({ spinning: true });
    expect(mapped.repositoryRoot).toBe('/srv/models');
    expect(mapped.models).not.toHaveProperty('models');
    expect(mapped.watch).toEqual({ mode: 'poll', pollIntervalMs: 2000, debounceMs: 500 });
  });

  it('reads variables and flags', () => {
    const c = readWorkerConfig(
      'gpu',
      { RANKER_MODELS: 'transact_encoder, ranking_heads', RANKER_EXECUTION_PROVIDERS: 'webgpu,cpu', RANKER_VERSION_POLICY: 'versions:3,4', RANKER_WARMUP_BATCH_SIZES: '1, 128' },
      ['--ranker-batching', 'false', '--ranker-model-repository=/models', '--ranker-max-batch-size', '200'],
    );
    expect(workerModelOptions(c, '/x').models).toMatchObject({ maxBatchSizeCap: 200, warmupBatchSizes: [1, 128] });
    expect(c).toMatchObject({ models: ['transact_encoder', 'ranking_heads'], executionProviders: ['webgpu', 'cpu'], versionPolicy: { versions: ['3', '4'] }, batching: false });
    expect(workerModelOptions(c, '/x').repositoryRoot).toBe('/models');
  });

  it('names every bad variable', () => {
    let err: unknown;
    try {
      readWorkerConfig('cpu', { RANKER_EXECUTION_PROVIDERS: 'tpu', RANKER_VERSION_POLICY: 'newest', RANKER_WATCH: 'inotify', RANKER_WARMUP_BATCH_SIZES: '1,0' }, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/RANKER_EXECUTION_PROVIDERS="tpu"/);
    expect(problems).toMatch(/RANKER_VERSION_POLICY="newest": expected latest:N/);
    expect(problems).toMatch(/RANKER_WATCH="inotify"/);
    expect(problems).toMatch(/RANKER_WARMUP_BATCH_SIZES="1,0"/);
  });

  it('parses version policies', () => {
    expect(parseVersionPolicy('latest:2')).toEqual({ latest: 2 });
    expect(parseVersionPolicy('versions:a, b')).toEqual({ versions: ['a', 'b'] });
    expect(() => parseVersionPolicy('latest:0')).toThrow(/latest:N/);
  });
});
