// One way to run, secure and observe a gRPC service: server, handlers, errors, health, admin auth, clients, config.
// This is what services call; the pieces the kit is built from are on `@pinrank/service-kit/internal`.
export { startServer, type RunningServer } from './server';
export { type ServerOptions, type ServerTlsOptions, type KeepaliveOptions } from './server-options';
export { defineService, type DefineServiceOptions, type ServiceRegistration, type ServiceHandlers, type HandlerFor } from './service';
export { type CallContext } from './context';
export { PinrankError, ERROR_CODES, type ErrorCode, type PinrankErrorOptions } from './errors';
export { quote, checkId, truncateUtf8, MAX_ECHO_BYTES, MAX_RPC_ID_BYTES, type IdCheckOptions } from './client-input';
export { type AdminAuthOptions } from './admin';
export { type ReflectionSource } from './reflection';
export { readConfig, vars, flagName, ConfigError, type ConfigVar, type ConfigOf } from './config';
export { serverVars, serverOptionsFromConfig, type ServerVarDefaults, type ServerVarsConfig } from './server-config';
export { runMain } from './run-main';
export {
  createClient,
  callUnary,
  outgoingDeadline,
  type ClientTlsOptions,
  type ClientConnectOptions,
  type ClientConstructor,
  type UnaryMethod,
  type UnaryCallOptions,
} from './client';
export { withRetry, type RetryPolicy } from './retry';
export { EndpointPool, type EndpointPoolOptions, type EndpointSource, type EndpointState } from './endpoint-pool';
