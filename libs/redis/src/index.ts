export { connectChecked, connectRedis, describeRedisSecurity, duplicateNamed, firstContact, logOutages, type OutageLogger, inBatch, keyNodes, type RedisClient, type RedisConnectionOptions } from './connection';
export { BusyCpu, commandTimes, idleCpuRates, serverCpuMicros, spentOn, SCRIPT_COMMANDS, type CommandTimes } from './command-time';
export { redisSecurityFromConfig, redisSecurityVars, type RedisSecurityConfig } from './redis-config';
