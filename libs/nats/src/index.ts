export { connectNats, describeNatsSecurity, natsConnectionOptions, natsServers, watchOutages, type NatsConnectOptions, type NatsSecurity, type OutageHandlers } from './connection';
export { natsSecurityFromConfig, natsSecurityVars, type NatsSecurityConfig } from './nats-config';
