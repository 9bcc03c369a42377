export { connectRedis, duplicateNamed, inBatch, keyNodes, type RedisClient, type RedisConnectionOptions } from './connection';
