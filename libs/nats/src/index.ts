export { connectNats, describeNatsSecurity, natsConnectionOptions, natsServers, type NatsConnectOptions, type NatsSecurity } from './connection';
export { natsSecurityFromConfig, natsSecurityVars, type NatsSecurityConfig } from './nats-config';
