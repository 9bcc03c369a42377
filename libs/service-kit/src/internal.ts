// `@pinrank/service-kit/internal`: what other pinrank libraries need from the kit, off its
// front page (src/index.ts): the pieces startServer, the handler wrapper and the client
// helpers are built from. Services use the front page.
export { withServerDefaults, parseHostPort, type ResolvedServerOptions } from './server-options';
export { type ServiceDefinitionLike, type MethodDefinitionLike } from './service';
export { toGrpcStatus, isServiceError, type MappedStatus, type ServiceErrorLike } from './errors';
export { capStatusDetails, MAX_STATUS_DETAILS_BYTES } from './client-input';
export { tolerantDefinition, tolerantServer, decodedOrThrow } from './request-decoding';
export { certificateIdentities } from './identity';
export { splitFileDescriptorSet } from './reflection';
export { clientInterceptors } from './client';
export { withRetryDefaults, backoffMs, type ResolvedRetryPolicy, type RetryEnvironment } from './retry';
export { traceContextFrom } from './lookup-stream';
