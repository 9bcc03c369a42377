import { ConfigError } from '@pinrank/service-kit';
import { routerOptionsFromEnv } from './router-env';
import { withRouterDefaults } from './router-options';

const base = { RANKER_FEATURE_SERVER: 'fs:50051', RANKER_EMBEDDING_STORE: 'es:50052', RANKER_GPU_WORKERS: 'dns:///gpu-workers:50061', RANKER_CPU_WORKERS: 'c1:50062, c2:50062' };

describe('routerOptionsFromEnv', () => {
  it('reads every variable into typed options', () => {
    const o = routerOptionsFromEnv({
      ...base,
      RANKER_MODEL_VERSIONS: 'transact_encoder=3,ranking_heads=2',
      RANKER_PLACEMENT: 'ranking_heads=gpu',
      RANKER_GPU_FALLBACK: 'lite',
      RANKER_SNAPSHOT_MISMATCH: 'refuse',
      RANKER_UNKNOWN_CANDIDATES: 'refuse',
      RANKER_MAX_CANDIDATES: '500',
      RANKER_CHUNK_SIZE: '64',
      RANKER_CHAIN_MODELS: 'false',
      RANKER_AUTO_CHAIN: 'false',
      RANKER_VECTOR_CACHE_ITEMS: '0',
      RANKER_VECTOR_CACHE_USERS: '1000',
      RANKER_LOOKUP_STREAMS: 'false',
      RANKER_INFER_STREAMS: 'false',
      RANKER_HEAD_WEIGHTS: 'save=1, click=0.5, hide=-3',
      RANKER_REQUEST_LOG: 'nats://127.0.0.1:4222/pinrank.ranker.requests',
      RANKER_EXPERIMENT: '{"name":"e1","arms":[{"name":"a","share":0.5}]}',
    });
    expect(o).toMatchObject({
      featureServer: 'fs:50051',
      gpuWorkers: ['dns:///gpu-workers:50061'],
      cpuWorkers: ['c1:50062', 'c2:50062'],
      modelVersions: { transact_encoder: '3', ranking_heads: '2' },
      placementOverrides: { ranking_heads: 'gpu' },
      gpuFallback: 'lite',
      snapshotMismatch: 'refuse',
      unknownCandidates: 'refuse',
      maxCandidates: 500,
      chunkSize: 64,
      chainModels: false,
      autoChain: false,
      vectorCacheItems: 0,
      vectorCacheUsers: 1000,
      lookupStreams: false,
      inferStreams: false,
      headWeights: { save: 1, click: 0.5, hide: -3 },
      requestLog: { kind: 'nats', servers: 'nats://127.0.0.1:4222', subject: 'pinrank.ranker.requests' },
      experiments: { kind: 'inline', config: { name: 'e1', arms: [{ name: 'a', share: 0.5 }] }, label: 'RANKER_EXPERIMENT' },
    });
    expect(() => withRouterDefaults(o)).not.toThrow();
    // Over TLS, the request log's connection presents the router's own certificate.
    const own = { PINRANK_TLS_CERT_FILE: __filename, PINRANK_TLS_KEY_FILE: __filename, PINRANK_TLS_CA_FILE: __filename };
    expect(routerOptionsFromEnv({ ...base, ...own, RANKER_REQUEST_LOG: 'tls://nats:4222/pinrank.ranker.requests', RANKER_NATS_TLS: 'true' }).requestLog).toEqual({
      kind: 'nats',
      servers: 'tls://nats:4222',
      subject: 'pinrank.ranker.requests',
      security: { tls: { caFile: __filename, certFile: __filename, keyFile: __filename } },
    });
    expect(routerOptionsFromEnv({ ...base, RANKER_REQUEST_LOG: 'file:/tmp/r.jsonl', RANKER_REQUEST_LOG_MAX_FILES: '3' }).requestLog).toEqual({
      kind: 'file',
      path: '/tmp/r.jsonl',
      maxFiles: 3,
    });
  });

  it.each([
    [{ RANKER_FEATURE_SERVER: '' }, /RANKER_FEATURE_SERVER=\(unset\)|RANKER_FEATURE_SERVER="": is required/],
    [{ RANKER_GPU_WORKERS: '', RANKER_CPU_WORKERS: ' ' }, /RANKER_GPU_WORKERS, RANKER_CPU_WORKERS: both empty/],
    [{ RANKER_CHUNK_SIZE: 'abc' }, /RANKER_CHUNK_SIZE="abc": expected an integer in \[1, 10000\]/],
    [{ RANKER_MAX_CANDIDATES: '0' }, /RANKER_MAX_CANDIDATES="0": expected an integer/],
    [{ RANKER_GPU_FALLBACK: 'gpu' }, /RANKER_GPU_FALLBACK="gpu": expected one of cpu_encoder, lite, none/],
    [{ RANKER_AUTO_CHAIN: 'maybe' }, /RANKER_AUTO_CHAIN="maybe"/],
    [{ RANKER_LOOKUP_STREAMS: 'sometimes' }, /RANKER_LOOKUP_STREAMS="sometimes"/],
    [{ RANKER_INFER_STREAMS: 'yes please' }, /RANKER_INFER_STREAMS="yes please"/],
    [{ RANKER_ADMISSION_GROW_WHEN_SLOW: '2' }, /RANKER_ADMISSION_GROW_WHEN_SLOW="2"/],
    [{ RANKER_HEAD_WEIGHTS: 'save=x' }, /RANKER_HEAD_WEIGHTS="save=x": weight of "save" must be a number/],
    [{ RANKER_HEAD_WEIGHTS: 'save' }, /RANKER_HEAD_WEIGHTS="save": "save" is not name=value/],
    [{ RANKER_PLACEMENT: 'ranking_heads=tpu' }, /RANKER_PLACEMENT="ranking_heads=tpu": placement of "ranking_heads" must be gpu or cpu/],
    [{ RANKER_REQUEST_LOG: 'kafka://x/y' }, /RANKER_REQUEST_LOG="kafka:\/\/x\/y": expected file:<path>, or nats:/],
    [{ RANKER_NATS_USER: 'router' }, /RANKER_NATS_USER and RANKER_NATS_PASSWORD_FILE must be set together/],
    [{ RANKER_EXPERIMENT: '{bad' }, /RANKER_EXPERIMENT=.*not valid JSON/],
  ])('names the variable of a bad value: %j', (env, message) => {
    let err: unknown;
    try {
      routerOptionsFromEnv({ ...base, ...env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('withRouterDefaults', () => {
  it('reads the admission and fallback-cap variables; RANKER_ADMISSION=false turns admission off', () => {
    const o = routerOptionsFromEnv({
      ...base,
      RANKER_ADMISSION_MIN_LIMIT: '3',
      RANKER_ADMISSION_MAX_LIMIT: '32',
      RANKER_ADMISSION_TOLERANCE: '2.5',
      RANKER_ADMISSION_QUEUE_FACTOR: '0',
      RANKER_ADMISSION_GROW_WHEN_SLOW: 'false',
      RANKER_FALLBACK_CHUNKS_PER_WORKER: '6',
    });
    expect(o.admission).toEqual({ minLimit: 3, maxLimit: 32, tolerance: 2.5, queueFactor: 0, growWhenSlow: false });
    expect(o.fallbackChunksPerWorker).toBe(6);
    expect(routerOptionsFromEnv({ ...base, RANKER_ADMISSION: 'false', RANKER_ADMISSION_MAX_LIMIT: '32' }).admission).toBe(false);
    expect(withRouterDefaults(routerOptionsFromEnv(base))).toMatchObject({ admission: {}, fallbackChunksPerWorker: 4 });
    expect(() => routerOptionsFromEnv({ ...base, RANKER_ADMISSION_TOLERANCE: '0.5' })).toThrow(ConfigError);
  });

  it('fills defaults and rejects conflicting options', () => {
    const o = withRouterDefaults({ featureServer: 'a:1', embeddingStore: 'b:1', gpuWorkers: ['g:1'], cpuWorkers: [] });
    expect(o).toMatchObject({ maxCandidates: 1000, chunkSize: 512, chainModels: true, autoChain: true, vectorCacheItems: 50_000, vectorCacheUsers: 50_000, sequenceLength: 100, gpuFallback: 'cpu_encoder', headWeights: { save: 1, click: 0.3, hide: -2 } });
    expect(() => withRouterDefaults({ featureServer: 'a:1', embeddingStore: 'b:1', gpuWorkers: [], cpuWorkers: ['c:1'], chunkSize: 0 })).toThrow(
      /chunkSize must be an integer in 1\.\.10000, got 0/,
    );
    expect(() =>
      withRouterDefaults({ featureServer: 'a:1', embeddingStore: 'b:1', gpuWorkers: ['g:1'], cpuWorkers: [], experiments: { kind: 'file', path: 'x.json', reloadIntervalMs: -1 } }),
    ).toThrow(/experiments.reloadIntervalMs must be an integer in 0..3600000, got -1/);
  });

  it('reads the experiment sources and refuses two at once', () => {
    expect(routerOptionsFromEnv({ ...base, RANKER_EXPERIMENTS_FILE: __filename, RANKER_EXPERIMENTS_RELOAD_MS: '500' }).experiments).toEqual({ kind: 'file', path: __filename, reloadIntervalMs: 500 });
    expect(routerOptionsFromEnv({ ...base, RANKER_EXPERIMENTS: '{"layers":[]}' }).experiments).toEqual({ kind: 'inline', config: { layers: [] }, label: 'RANKER_EXPERIMENTS' });
    expect(() => routerOptionsFromEnv({ ...base, RANKER_EXPERIMENTS: '{"layers":' })).toThrow(/RANKER_EXPERIMENTS.*not valid JSON/);
    expect(() => routerOptionsFromEnv({ ...base, RANKER_EXPERIMENTS_FILE: '/no/such/experiments.json' })).toThrow(/RANKER_EXPERIMENTS_FILE.*no such file/);
    expect(() => routerOptionsFromEnv({ ...base, RANKER_EXPERIMENTS_FILE: __filename, RANKER_EXPERIMENTS: '{"layers":[]}' })).toThrow(/set only one source of experiments/);
  });
});
