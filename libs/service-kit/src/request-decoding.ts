import { quote } from './client-input';
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

/** A request stream whose undecodable messages throw INVALID_ARGUMENT when reached. */
export async function* decodedStream<T>(messages: AsyncIterable<T>, methodPath: string): AsyncGenerator<T> {
  for await (const m of messages) yield decodedOrThrow(m, methodPath);
}
