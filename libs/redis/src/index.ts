export { connectRedis, duplicateNamed, inBatch, keyNodes, type RedisClient, type RedisConnectionOptions } from './connection';
export { commandTimes, spentOn, SCRIPT_COMMANDS, type CommandTimes } from './command-time';
