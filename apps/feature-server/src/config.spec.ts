import { readFeatureServerConfig } from './config';

describe('feature-server configuration', () => {
  it('reads sequences through the fast path unless told otherwise, and names a bad value', () => {
    expect(readFeatureServerConfig({}, []).readFastPath).toBe(true);
    expect(readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'false' }, []).readFastPath).toBe(false);
    expect(readFeatureServerConfig({}, ['--feature-server-read-fast-path', 'false']).readFastPath).toBe(false);
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_READ_FAST_PATH: 'sometimes' }, [])).toThrow(/FEATURE_SERVER_READ_FAST_PATH/);
  });

  it("keeps a Redis prefix's own layout (records for a new one) unless told otherwise, and names a bad layout", () => {
    expect(readFeatureServerConfig({}, []).redisLayout).toBe('auto');
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_LAYOUT: 'ids' }, []).redisLayout).toBe('ids');
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_LAYOUT: 'records' }, []).redisLayout).toBe('records');
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_REDIS_LAYOUT: 'rows' }, [])).toThrow(/FEATURE_SERVER_REDIS_LAYOUT/);
  });

  it('sweeps a taken-over Redis prefix at 20 000 keys a second unless told otherwise; 0 turns the sweep off', () => {
    expect(readFeatureServerConfig({}, []).redisSweepKeysPerSecond).toBe(20_000);
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_SWEEP_KEYS_PER_S: '0' }, []).redisSweepKeysPerSecond).toBe(0);
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_REDIS_SWEEP_KEYS_PER_S: '-5' }, [])).toThrow(/FEATURE_SERVER_REDIS_SWEEP_KEYS_PER_S/);
  });

  it('connects to one Redis unless told it is a cluster', () => {
    expect(readFeatureServerConfig({}, []).redisCluster).toBe(false);
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_CLUSTER: 'true', FEATURE_SERVER_REDIS_URL: 'redis://a:6379,redis://b:6379' }, [])).toMatchObject({ redisCluster: true, redisUrl: 'redis://a:6379,redis://b:6379' });
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_REDIS_CLUSTER: 'several' }, [])).toThrow(/FEATURE_SERVER_REDIS_CLUSTER/);
  });

  it('consumes one unpartitioned action stream unless told its partition count (1..256)', () => {
    expect(readFeatureServerConfig({}, []).natsPartitions).toBe(1);
    expect(readFeatureServerConfig({ FEATURE_SERVER_NATS_PARTITIONS: '5' }, []).natsPartitions).toBe(5);
    for (const bad of ['0', '257', 'five', '1.5']) expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_PARTITIONS: bad }, [])).toThrow(/FEATURE_SERVER_NATS_PARTITIONS/);
    // A wildcard subject can be consumed whole, not partitioned: refused with both variables named.
    expect(readFeatureServerConfig({ FEATURE_SERVER_NATS_SUBJECT: 'pinrank.actions.>' }, []).natsSubject).toBe('pinrank.actions.>');
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_SUBJECT: 'pinrank.actions.>', FEATURE_SERVER_NATS_PARTITIONS: '3' }, [])).toThrow(
      /FEATURE_SERVER_NATS_SUBJECT="pinrank\.actions\.>" with FEATURE_SERVER_NATS_PARTITIONS=3: .*must be a plain subject/,
    );
  });
});
