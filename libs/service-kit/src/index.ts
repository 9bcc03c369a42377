// One way to run, secure and observe a gRPC service: server, handlers, errors, health, identities and authorization, clients, config.
// This is what services call; the pieces the kit is built from are on `@pinrank/service-kit/internal`.
export { startServer, type RunningServer } from './server';
export { type ServerOptions, type ServerTlsOptions, type KeepaliveOptions } from './server-options';
export { defineService, type DefineServiceOptions, type ServiceRegistration, type ServiceHandlers, type HandlerFor } from './service';
export { type CallContext } from './context';
export { type CallRuntime } from './call-handler';
export { untilDraining } from './stream-drain';
export { answerConcurrently } from './stream-answers';
export {
  lookupStream,
  DEFAULT_LOOKUP_IN_FLIGHT,
  type LookupStreamSpec,
  type LookupStreamHandler,
  type LookupRequestLike,
  type LookupStatusLike,
} from './lookup-stream';
export { callViaStream, LookupStreamClient, LookupStreamUnavailable, type LookupClientOptions, type LookupCallOptions, type LookupResultParts } from './lookup-client';
export { PinrankError, ERROR_CODES, type ErrorCode, type PinrankErrorOptions } from './errors';
export { quote, checkId, truncateUtf8, MAX_ECHO_BYTES, MAX_RPC_ID_BYTES, type IdCheckOptions } from './client-input';
export {
  ADMIN_PRINCIPAL,
  DEFAULT_SPIFFE_PREFIX,
  IdentityResolver,
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
export { type ReflectionSource } from './reflection';
export { readConfig, vars, flagName, ConfigError, type ConfigVar, type ConfigOf } from './config';
export {
  checkClientCertificate,
  dataClientSecurity,
  dataClientSecurityOrThrow,
  readSecretLine,
  tlsMode,
  type DataClientSecurity,
  type DataClientSecuritySettings,
  type ServiceTlsFiles,
} from './data-client-security';
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
  channelCredentials,
  clientChannelOptions,
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

// Certificates for local stacks and tests (production certificates come from cert-manager).
export { ensureLocalPki, localPkiServerEnv, type LocalIdentity, type LocalPki, type LocalPkiOptions } from './pki/local-pki';
export { issueCertificate, type CertificateSubject, type IssuedCertificate, type IssueOptions } from './pki/x509';

// For other projects' tests: probe a server's authorization table.
export { admittedCode, policyCases, probeMethod, type PolicyCase, type ProbeCredentials } from './testing/policy-probe';
export { checkPolicyCase, describePolicyTables, startPolicyServer, type PolicyServer } from './testing/policy-server';
// Free loopback ports for the services a test stack or a benchmark starts.
export { freePort, freePorts, portAnswers, reservePorts } from './free-ports';
export { portProcess, type PortProcess } from './port-process';
// A round trip between processes of one machine, for tests and benches.
export { startDelayProxy, type DelayProxy, type DelayProxyOptions } from './testing/delay-proxy';
// The benchmarks' `--built` mode: their processes run as the deployed bundles.
export { BENCH_BUILT_ENV, benchBuilt, builtEntry, entryArgs } from './testing/built-entry';
// The checkout the code runs from, from the sources or a bundle.
export { repoRoot } from './repo-root';
