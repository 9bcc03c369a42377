import { type Metadata, status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';

/** The gRPC status code names a {@link PinrankError} can carry. */
export type ErrorCode =
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/** Every {@link ErrorCode}, in gRPC numeric order. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** Options of a {@link PinrankError}. */
export interface PinrankErrorOptions {
  /** The underlying error; logged on the server, never sent to clients. */
  cause?: unknown;
  /** Extra response trailers (e.g. a retry hint). */
  metadata?: Metadata;
  /**
   * Marks the message as meant for logs and in-process callers only: the wire
   * carries a generic INTERNAL message instead (see {@link toGrpcStatus}).
   * {@link PinrankError.from} sets it for failures that were not a status.
   */
  unexpected?: boolean;
}

/**
 * The one error type of pinrank services: a gRPC-aligned code and a message
 * meant for the caller. Thrown by handlers and by client helpers (which turn
 * a failed call's status back into a PinrankError).
 */
export class PinrankError extends Error {
  override readonly name = 'PinrankError';
  /** The gRPC status name. */
  readonly code: ErrorCode;
  /** Extra trailers to send with the status. */
  readonly metadata: Metadata | undefined;
  /** True when this wraps an unexpected failure: the message names it for logs, clients get a generic INTERNAL. */
  readonly unexpected: boolean;

  constructor(code: ErrorCode, message: string, options: PinrankErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!ERROR_CODES.includes(code)) throw new TypeError(`PinrankError: unknown code ${String(code)}`);
    this.code = code;
    this.metadata = options.metadata;
    this.unexpected = options.unexpected ?? false;
  }

  /** The numeric gRPC status of this error's code. */
  get grpcCode(): GrpcStatus {
    return GrpcStatus[this.code];
  }

  /**
   * Converts anything thrown into a PinrankError: PinrankErrors pass through,
   * a gRPC ServiceError keeps its code and details, anything else becomes an
   * {@link PinrankError.unexpected} INTERNAL that keeps the message of an
   * Error or a thrown string (`fallbackMessage` for any other value or an
   * empty message) and the original as `cause`. Call sites never re-extract
   * the message; the server still answers clients with a generic one.
   */
  static from(err: unknown, fallbackMessage = 'internal error'): PinrankError {
    if (err instanceof PinrankError) return err;
    if (isServiceError(err)) {
      const name = GrpcStatus[err.code] as ErrorCode | undefined;
      if (name !== undefined && ERROR_CODES.includes(name)) {
        return new PinrankError(name, err.details || err.message, { cause: err });
      }
    }
    const message = (err instanceof Error ? err.message : typeof err === 'string' ? err : '') || fallbackMessage;
    return new PinrankError('INTERNAL', message, { cause: err, unexpected: true });
  }
}

/** A grpc-js client error: an Error with a numeric status code and details. */
export interface ServiceErrorLike extends Error {
  code: number;
  details: string;
  metadata?: Metadata;
}

/** True for errors produced by grpc-js calls (they carry a numeric `code` and `details`). */
export function isServiceError(err: unknown): err is ServiceErrorLike {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceErrorLike>).code === 'number' &&
    typeof (err as Partial<ServiceErrorLike>).details === 'string'
  );
}

/** What a handler's failure becomes on the wire, and whether the server should log it as unexpected. */
export interface MappedStatus {
  /** The status sent to the client. */
  status: Partial<StatusObject> & { code: GrpcStatus; details: string };
  /** The error in PinrankError form. */
  error: PinrankError;
  /** True when the thrown value was not a PinrankError, or one marked unexpected (a bug or an unexpected failure). */
  unexpected: boolean;
}

/**
 * The single place where a thrown value becomes a gRPC status. PinrankErrors
 * keep their code and message; anything else, and a PinrankError marked
 * unexpected (what `PinrankError.from` makes of a plain Error), is INTERNAL
 * with a generic message (plus the trace id, so the client can quote it) and
 * never its own message or a stack.
 */
export function toGrpcStatus(err: unknown, traceId?: string): MappedStatus {
  if (err instanceof PinrankError && !err.unexpected) {
    return {
      status: { code: err.grpcCode, details: err.message, ...(err.metadata ? { metadata: err.metadata } : {}) },
      error: err,
      unexpected: false,
    };
  }
  const details = traceId ? `internal error (trace_id ${traceId})` : 'internal error';
  const error = new PinrankError('INTERNAL', details, { cause: err });
  return { status: { code: GrpcStatus.INTERNAL, details }, error, unexpected: true };
}
