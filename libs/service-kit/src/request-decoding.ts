import { status as GrpcStatus, type Server, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { capStatusDetails, quote } from './client-input';
import { PinrankError } from './errors';
import { type MethodDefinitionLike, type ServiceDefinitionLike } from './service';

const UNDECODABLE = Symbol('pinrank.undecodable');

/** What a tolerant deserializer returns instead of throwing. */
interface Undecodable {
  readonly [UNDECODABLE]: string;
}

function isUndecodable(value: unknown): value is Undecodable {
  return typeof value === 'object' && value !== null && UNDECODABLE in value;
}

// Generated code (ts-proto, forceLong=number) throws these for int64 values beyond ±2^53.
const UNSAFE_INTEGER = /(larger|smaller) than Number\.(MAX|MIN)_SAFE_INTEGER/;

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (UNSAFE_INTEGER.test(message)) return `an integer field holds a value beyond ±2^53 (${Number.MAX_SAFE_INTEGER}), which this API does not accept`;
  if (err instanceof RangeError && /call stack/i.test(message)) return 'the message nests too deeply';
  return `malformed protobuf (${quote(message, 96)})`;
}

/**
 * A copy of a service definition whose request deserializers never throw.
 * grpc-js answers INTERNAL by itself when a request cannot be deserialized,
 * before any handler runs; with this wrapper the handler wrapper sees a
 * marker instead and answers INVALID_ARGUMENT (see {@link decodedOrThrow}).
 */
export function tolerantDefinition<D extends ServiceDefinitionLike>(definition: D): D {
  const out: Record<string, MethodDefinitionLike<unknown, unknown>> = {};
  for (const [key, def] of Object.entries(definition)) {
    const decode = def.requestDeserialize;
    out[key] = {
      ...def,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [UNDECODABLE]: reasonOf(err) } satisfies Undecodable;
        }
      },
    };
  }
  return out as D;
}

/**
 * Returns a decoded request, or throws INVALID_ARGUMENT when the tolerant
 * deserializer could not decode it. Thrown by: an undecodable request.
 */
export function decodedOrThrow<T>(value: T, methodPath: string): T {
  if (isUndecodable(value)) {
    throw new PinrankError('INVALID_ARGUMENT', `the request to ${methodPath.replace(/^\//, '')} could not be decoded: ${value[UNDECODABLE]}`);
  }
  return value;
}

function refusal(value: Undecodable, methodPath: string): { code: GrpcStatus; details: string } {
  return { code: GrpcStatus.INVALID_ARGUMENT, details: `the request to ${methodPath.replace(/^\//, '')} could not be decoded: ${value[UNDECODABLE]}` };
}

type RawCall = {
  request?: unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  write?: (...args: unknown[]) => boolean;
};
type RawHandler = (call: RawCall, callback?: (err: unknown, value?: unknown) => void) => void;

/**
 * A view of a server whose `addService` makes any service tolerant of
 * undecodable requests, for handlers not written with the kit (health,
 * reflection): such a request is answered INVALID_ARGUMENT before the handler
 * sees it, in every streaming shape.
 */
export function tolerantServer(server: Pick<Server, 'addService'>): Pick<Server, 'addService'> {
  return {
    addService(service, implementation) {
      const definition = tolerantDefinition(service as unknown as ServiceDefinitionLike);
      const guarded: UntypedServiceImplementation = {};
      for (const [key, handler] of Object.entries(implementation)) {
        const def = definition[key] ?? Object.values(definition).find((d) => d.path.endsWith(`/${key}`));
        guarded[key] = def ? (guard(handler as unknown as RawHandler, def) as unknown as UntypedServiceImplementation[string]) : handler;
      }
      server.addService(definition as unknown as Parameters<Server['addService']>[0], guarded);
    },
  };
}

/** A status whose details are capped (the edge's last line of defence, for handlers not written with the kit). */
function capped(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || typeof (err as { details?: unknown }).details !== 'string') return err;
  const details = (err as { details: string }).details;
  const cut = capStatusDetails(details);
  return cut === details ? err : { ...(err as object), details: cut };
}

function guard(handler: RawHandler, def: MethodDefinitionLike<unknown, unknown>): RawHandler {
  return (call, callback) => {
    const emit = call.emit.bind(call);
    const done = callback ? (err: unknown, value?: unknown): void => callback(capped(err), value) : undefined;
    let refused = false;
    call.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (refused && (event === 'data' || event === 'error')) return true;
      if (event === 'error') return emit(event, capped(args[0]), ...args.slice(1));
      // An undecodable message of a request stream ends the call instead of reaching the handler.
      // What the handler still writes is dropped: a write after the end would destroy the
      // stream before its status is sent, and the call would hang to its deadline.
      if (event === 'data' && def.requestStream && isUndecodable(args[0])) {
        const status = refusal(args[0], def.path);
        refused = true;
        if (call.write) call.write = () => true;
        if (done) done(status);
        else emit('error', status);
        return true;
      }
      return emit(event, ...args);
    };
    if (!def.requestStream && isUndecodable(call.request)) {
      const status = refusal(call.request, def.path);
      if (done) done(status);
      else call.emit('error', status);
      return;
    }
    handler(call, done);
  };
}
