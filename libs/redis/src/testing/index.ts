export { startRedisCluster, type RedisCluster } from './redis-cluster';
export { startTlsRedis, type TlsRedis, type TlsRedisOptions } from './tls-redis';
