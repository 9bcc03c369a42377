export { startNatsServer, type NatsTestServer, type NatsTestServerOptions, type NatsTestUser } from './nats-server';
