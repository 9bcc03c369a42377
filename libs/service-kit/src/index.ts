// One way to run, secure and observe a gRPC service: server, handlers, errors, health, identities and authorization, clients, config.
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
  ADMIN_PRINCIPAL,
  DEFAULT_SPIFFE_PREFIX,
  IdentityResolver,
  certificateIdentities,
  type AdminAuthOptions,
  type Caller,
  type IdentityOptions,
  type IdentityToken,
  type PeerCertificateLike,
} from './identity';
export {
  AUTHENTICATED,
  PUBLIC,
  allow,
  describeRule,
  parseAuthzGrant,
  servicePolicy,
  withGrants,
  type AuthzGrant,
  type MethodRule,
  type ServicePolicy,
} from './authz-policy';
export { Authorizer, policyGaps, type AuthzMode, type AuthzOptions } from './authorizer';
export { splitFileDescriptorSet, type ReflectionSource } from './reflection';
export { readConfig, vars, flagName, ConfigError, type ConfigVar, type ConfigOf } from './config';
export {
  serverVars,
  serverOptionsFromConfig,
  clientTlsFromConfig,
  parseIdentityToken,
  type ServerVarDefaults,
  type ServerVarsConfig,
} from './server-config';
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

// Certificates for local stacks and tests (production certificates come from cert-manager).
export { ensureLocalPki, localPkiServerEnv, type LocalIdentity, type LocalPki, type LocalPkiOptions } from './pki/local-pki';
export { issueCertificate, type CertificateSubject, type IssuedCertificate, type IssueOptions } from './pki/x509';

// For other projects' tests: probe a server's authorization table.
export { admittedCode, policyCases, probeMethod, type PolicyCase, type ProbeCredentials } from './testing/policy-probe';
export { checkPolicyCase, describePolicyTables, startPolicyServer, type PolicyServer } from './testing/policy-server';
