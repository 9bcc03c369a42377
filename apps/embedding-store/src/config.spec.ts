import { readEmbeddingStoreConfig } from './config';

describe('embedding-store configuration', () => {
  it('keeps ANN graphs beside the LMDB folder by default, nowhere for Redis unless a folder is given', () => {
    const lmdb = readEmbeddingStoreConfig({ EMBEDDING_STORE_LMDB_PATH: '/var/lib/es' }, []);
    expect(lmdb).toMatchObject({ annIndexDir: '/var/lib/es-ann', annExpansionSearch: 384, annQuantization: 'f32' });
    expect(readEmbeddingStoreConfig({ EMBEDDING_STORE_BACKEND: 'redis' }, []).annIndexDir).toBeUndefined();
    const explicit = readEmbeddingStoreConfig({ EMBEDDING_STORE_BACKEND: 'redis', EMBEDDING_STORE_ANN_DIR: '/cache/ann', EMBEDDING_STORE_ANN_QUANTIZATION: 'i8' }, []);
    expect(explicit).toMatchObject({ annIndexDir: '/cache/ann', annQuantization: 'i8' });
  });

  it('names a bad ANN setting', () => {
    expect(() => readEmbeddingStoreConfig({ EMBEDDING_STORE_ANN_QUANTIZATION: 'f8' }, [])).toThrow(/EMBEDDING_STORE_ANN_QUANTIZATION/);
    expect(() => readEmbeddingStoreConfig({ EMBEDDING_STORE_ANN_EXPANSION_SEARCH: '0' }, [])).toThrow(/EMBEDDING_STORE_ANN_EXPANSION_SEARCH/);
  });

  it('keeps 50 000 vectors per key space in memory by default, none with 0, and names a bad value', () => {
    expect(readEmbeddingStoreConfig({}, []).vectorCacheRows).toBe(50_000);
    expect(readEmbeddingStoreConfig({ EMBEDDING_STORE_VECTOR_CACHE_ROWS: '0' }, []).vectorCacheRows).toBe(0);
    for (const bad of ['-1', 'many', '1.5', '20000000']) {
      expect(() => readEmbeddingStoreConfig({ EMBEDDING_STORE_VECTOR_CACHE_ROWS: bad }, [])).toThrow(/EMBEDDING_STORE_VECTOR_CACHE_ROWS/);
    }
  });

  it('connects the Redis backend to one Redis unless told it is a cluster', () => {
    expect(readEmbeddingStoreConfig({}, []).redisCluster).toBe(false);
    expect(readEmbeddingStoreConfig({ EMBEDDING_STORE_REDIS_CLUSTER: 'true' }, []).redisCluster).toBe(true);
    expect(() => readEmbeddingStoreConfig({ EMBEDDING_STORE_REDIS_CLUSTER: 'maybe' }, [])).toThrow(/EMBEDDING_STORE_REDIS_CLUSTER/);
  });

  it('connects to Redis in plaintext unless told TLS, then with its own certificate over rediss:// URLs only', () => {
    const file = __filename; // any existing file stands in for a certificate, key or CA
    const own = { PINRANK_TLS_CERT_FILE: file, PINRANK_TLS_KEY_FILE: file, PINRANK_TLS_CA_FILE: file };
    expect(readEmbeddingStoreConfig({}, []).redisSecurity).toEqual({});
    const tls = { ...own, EMBEDDING_STORE_BACKEND: 'redis', EMBEDDING_STORE_REDIS_TLS: 'true', EMBEDDING_STORE_REDIS_URL: 'rediss://primary:6379' };
    expect(readEmbeddingStoreConfig(tls, []).redisSecurity).toEqual({ tls: { caFile: file, certFile: file, keyFile: file } });
    expect(() => readEmbeddingStoreConfig({ ...tls, EMBEDDING_STORE_REDIS_READ_URLS: 'rediss://r0:6379,redis://r1:6379' }, [])).toThrow(
      'EMBEDDING_STORE_REDIS_READ_URLS="redis://r1:6379": not a rediss:// URL, and EMBEDDING_STORE_REDIS_TLS=true: use rediss://',
    );
    expect(() => readEmbeddingStoreConfig({ EMBEDDING_STORE_REDIS_USER: 'es' }, [])).toThrow('EMBEDDING_STORE_REDIS_USER and EMBEDDING_STORE_REDIS_PASSWORD_FILE must be set together');
  });
});
