export { startNatsServer, type NatsTestServer, type NatsTestServerOptions, type NatsTestUser } from './nats-server';
export { startNatsCluster, type NatsTestCluster } from './nats-cluster';
