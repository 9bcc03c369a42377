import { type CallContext } from './context';

/** The shape of one method in a ts-proto `outputServices=grpc-js` service definition. */
export interface MethodDefinitionLike<Req, Res> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly requestDeserialize: (value: Buffer) => Req;
  readonly responseSerialize: (value: Res) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

/** A ts-proto service definition (e.g. `FeatureServerService`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: handlers of any message types
export type ServiceDefinitionLike = Record<string, MethodDefinitionLike<any, any>>;

type ReqOf<M> = M extends { requestDeserialize: (value: Buffer) => infer Req } ? Req : never;
type ResOf<M> = M extends { responseSerialize: (value: infer Res) => Buffer } ? Res : never;

/**
 * The handler type of one method, chosen by its streaming shape: unary and
 * client-streaming handlers return a promise of the response; server- and
 * bidi-streaming handlers return an async iterable of responses.
 */
export type HandlerFor<M> = M extends { requestStream: true; responseStream: true }
  ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => AsyncIterable<ResOf<M>>
  : M extends { requestStream: true }
    ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => Promise<ResOf<M>>
    : M extends { responseStream: true }
      ? (request: ReqOf<M>, ctx: CallContext) => AsyncIterable<ResOf<M>>
      : (request: ReqOf<M>, ctx: CallContext) => Promise<ResOf<M>>;

/** Handlers for a service; a method left out answers UNIMPLEMENTED. */
export type ServiceHandlers<D extends ServiceDefinitionLike> = { [K in keyof D]?: HandlerFor<D[K]> };

/** Options of {@link defineService}. */
export interface DefineServiceOptions<D extends ServiceDefinitionLike> {
  /** Methods that require admin credentials (a configured bearer token or an allowed mTLS identity). */
  adminMethods?: ReadonlyArray<keyof D & string>;
  /** Message returned by methods without a handler; default "<Service>/<Method> is not implemented yet". */
  unimplementedMessage?: (methodPath: string) => string;
}

/** A service definition bound to its handlers, ready for `startServer({ services: [...] })`. */
export interface ServiceRegistration {
  /** Fully qualified service name, e.g. "pinrank.v1.FeatureServer" (used by health and reflection). */
  readonly serviceName: string;
  /** The ts-proto definition. */
  readonly definition: ServiceDefinitionLike;
  /** Handlers by method key (ts-proto's lowerCamel name). */
  readonly handlers: Readonly<Record<string, HandlerFor<unknown> | undefined>>;
  /** Method keys that require admin credentials. */
  readonly adminMethods: ReadonlySet<string>;
  /** Message for methods without a handler. */
  readonly unimplementedMessage: (methodPath: string) => string;
}

/**
 * Binds plain async handlers to a ts-proto service definition. Unknown method
 * names in `handlers` or `adminMethods` throw a TypeError at once.
 */
export function defineService<D extends ServiceDefinitionLike>(
  definition: D,
  handlers: ServiceHandlers<D>,
  options: DefineServiceOptions<D> = {},
): ServiceRegistration {
  const keys = Object.keys(definition);
  const first = definition[keys[0] ?? ''];
  if (!first) throw new TypeError('defineService: the service definition has no methods');
  const serviceName = first.path.replace(/^\//, '').split('/')[0] ?? '';
  for (const key of Object.keys(handlers)) {
    if (!keys.includes(key)) throw new TypeError(`defineService(${serviceName}): no method "${key}"; methods: ${keys.join(', ')}`);
  }
  for (const key of options.adminMethods ?? []) {
    if (!keys.includes(key)) {
      throw new TypeError(`defineService(${serviceName}): adminMethods names unknown method "${key}"; methods: ${keys.join(', ')}`);
    }
  }
  return {
    serviceName,
    definition,
    handlers: handlers as Record<string, HandlerFor<unknown> | undefined>,
    adminMethods: new Set(options.adminMethods ?? []),
    unimplementedMessage:
      options.unimplementedMessage ?? ((path: string) => `${path.replace(/^\//, '')} is not implemented yet`),
  };
}
