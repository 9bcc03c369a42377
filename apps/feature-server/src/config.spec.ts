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

  it('creates missing streams with one copy unless told how many (1..5, what JetStream allows)', () => {
    expect(readFeatureServerConfig({}, []).natsReplicas).toBe(1);
    expect(readFeatureServerConfig({ FEATURE_SERVER_NATS_REPLICAS: '3' }, []).natsReplicas).toBe(3);
    for (const bad of ['0', '6', 'three']) expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_REPLICAS: bad }, [])).toThrow(/FEATURE_SERVER_NATS_REPLICAS/);
  });

  it('connects to NATS in plaintext unless told TLS, then as its own certificate; names a combination that cannot work', () => {
    const file = __filename; // any existing file stands in for a certificate, key or CA
    expect(readFeatureServerConfig({}, []).natsSecurity).toEqual({});
    const own = { PINRANK_TLS_CERT_FILE: file, PINRANK_TLS_KEY_FILE: file, PINRANK_TLS_CA_FILE: file };
    expect(readFeatureServerConfig({ ...own, FEATURE_SERVER_NATS_TLS: 'true' }, []).natsSecurity).toEqual({ tls: { caFile: file, certFile: file, keyFile: file } });
    expect(readFeatureServerConfig({ FEATURE_SERVER_NATS_USER: 'fs', FEATURE_SERVER_NATS_PASSWORD_FILE: file }, []).natsSecurity).toEqual({ user: 'fs', passwordFile: file });
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_USER: 'fs' }, [])).toThrow('FEATURE_SERVER_NATS_USER and FEATURE_SERVER_NATS_PASSWORD_FILE must be set together');
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_CA_FILE: file }, [])).toThrow('set FEATURE_SERVER_NATS_TLS=true');
    expect(() => readFeatureServerConfig({ FEATURE_SERVER_NATS_CREDS_FILE: '/no/such.creds' }, [])).toThrow(/FEATURE_SERVER_NATS_CREDS_FILE.*no such file/);
  });

  it('connects the Redis backend with TLS and its own certificate only over rediss:// URLs', () => {
    const file = __filename;
    const own = { PINRANK_TLS_CERT_FILE: file, PINRANK_TLS_KEY_FILE: file, PINRANK_TLS_CA_FILE: file };
    const tls = { ...own, FEATURE_SERVER_BACKEND: 'redis', FEATURE_SERVER_REDIS_TLS: 'true' };
    expect(readFeatureServerConfig({ ...tls, FEATURE_SERVER_REDIS_URL: 'rediss://redis:6379' }, []).redisSecurity).toEqual({ tls: { caFile: file, certFile: file, keyFile: file } });
    expect(() => readFeatureServerConfig(tls, [])).toThrow('FEATURE_SERVER_REDIS_URL="redis://127.0.0.1:6379": not a rediss:// URL, and FEATURE_SERVER_REDIS_TLS=true: use rediss://');
    expect(readFeatureServerConfig({ FEATURE_SERVER_REDIS_USER: 'fs', FEATURE_SERVER_REDIS_PASSWORD_FILE: file }, []).redisSecurity).toEqual({ user: 'fs', passwordFile: file });
  });
});
