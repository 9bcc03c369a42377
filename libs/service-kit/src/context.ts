import { type Metadata } from '@grpc/grpc-js';
import { type Context, type Span } from '@opentelemetry/api';
import { type Logger } from 'pino';
import { type Caller } from './identity';

/**
 * What a handler knows about its call besides the request: deadline and
 * cancellation, the SERVER span and a logger carrying its trace ids.
 */
export interface CallContext {
  /** Full method path, e.g. "/pinrank.v1.FeatureServer/GetRealtimeSequence". */
  readonly method: string;
  /** The client's deadline, or undefined when it set none. */
  readonly deadline: Date | undefined;
  /** Aborted when the client cancels, the deadline passes, or the server force-stops. */
  readonly signal: AbortSignal;
  /** Logger whose lines carry this call's trace_id and span_id. */
  readonly logger: Logger;
  /** The SERVER span of this call (child of the caller's span when it sent a trace context). */
  readonly span: Span;
  /** The OpenTelemetry context holding `span`; pass it to outgoing calls to link them. */
  readonly otel: Context;
  /** Incoming request metadata. */
  readonly metadata: Metadata;
  /** The caller's address. */
  readonly peer: string;
  /** The identified caller (undefined for public methods, which do not look at credentials). */
  readonly caller: Caller | undefined;
  /** Milliseconds left before the deadline (Infinity without one, never negative). */
  remainingMs(): number;
  /**
   * Names the model this call served, for the `model` label of its RPC
   * metrics. Pass only names the server knows (a client-chosen string would
   * add a series per value).
   */
  labelModel(name: string): void;
}
