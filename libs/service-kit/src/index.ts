// One way to run, secure and observe a gRPC service: server, handlers, errors, health, admin auth, clients, config.
export { startServer, type RunningServer } from './server';
export {
  withServerDefaults,
  parseHostPort,
  type ServerOptions,
  type ServerTlsOptions,
  type KeepaliveOptions,
  type ResolvedServerOptions,
} from './server-options';
export {
  defineService,
  type DefineServiceOptions,
  type ServiceRegistration,
  type ServiceHandlers,
  type HandlerFor,
  type ServiceDefinitionLike,
  type MethodDefinitionLike,
} from './service';
export { type CallContext } from './context';
export {
  PinrankError,
  toGrpcStatus,
  isServiceError,
  ERROR_CODES,
  type ErrorCode,
  type PinrankErrorOptions,
  type MappedStatus,
  type ServiceErrorLike,
} from './errors';
export {
  quote,
  capStatusDetails,
  checkId,
  truncateUtf8,
  MAX_ECHO_BYTES,
  MAX_STATUS_DETAILS_BYTES,
  MAX_RPC_ID_BYTES,
  MAX_NAME_BYTES,
  type IdCheckOptions,
} from './client-input';
export { authorizeAdmin, certificateIdentities, type AdminAuthOptions, type AdminPrincipal } from './admin';
export { splitFileDescriptorSet, type ReflectionSource } from './reflection';
export { readConfig, vars, flagName, ConfigError, type ConfigVar, type ConfigOf } from './config';
export { serverVars, serverOptionsFromConfig, type ServerVarDefaults, type ServerVarsConfig } from './server-config';
export { runMain } from './run-main';
export {
  createClient,
  callUnary,
  channelCredentials,
  clientChannelOptions,
  clientInterceptors,
  outgoingDeadline,
  type ClientTlsOptions,
  type ClientConnectOptions,
  type ClientConstructor,
  type UnaryMethod,
  type UnaryCallOptions,
} from './client';
export { withRetry, withRetryDefaults, backoffMs, type RetryPolicy, type ResolvedRetryPolicy, type RetryEnvironment } from './retry';
export { EndpointPool, type EndpointPoolOptions, type EndpointSource, type EndpointState } from './endpoint-pool';
