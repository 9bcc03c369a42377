import { RedisVectorStore } from './redis-store';

describe('RedisVectorStore options', () => {
  it('refuses seed URLs without the cluster setting, and read replica URLs with it, naming the settings', () => {
    expect(() => new RedisVectorStore({ url: 'redis://a:6379,redis://b:6379' })).toThrow(/several URLs .* set EMBEDDING_STORE_REDIS_CLUSTER=true/);
    expect(() => new RedisVectorStore({ url: 'redis://a:6379', cluster: true, readUrls: ['redis://r:6379'] })).toThrow(/EMBEDDING_STORE_REDIS_READ_URLS\) do not apply to a cluster/);
    expect(() => new RedisVectorStore({ url: 'http://a:6379', cluster: true })).toThrow(/must start with redis:\/\/ or rediss:\/\//);
    expect(() => new RedisVectorStore({ readUrls: ['redis://r:6379', 'http://r2:6379'] })).toThrow(/"http:\/\/r2:6379" must start with redis:\/\/ or rediss:\/\//);
  });
});
