import { type InferParameter, type ModelInferRequest } from '@pinrank/proto';
import { PinrankError } from '@pinrank/service-kit';

// Per-request parameters a ModelInfer request (unary, or one message of
// ModelStreamInfer) may carry besides its tensors, under the names Triton
// reserves for them:
//   timeout      int64, microseconds: the request is dropped once it is
//                this old (Triton's schedule-policy extension); 0 or absent:
//                the call's own deadline only. The earlier of the two wins.
//   traceparent  string, a W3C trace context: on a stream, where one gRPC
//                call carries many requests, the parent of this request's span.
// and one of our own, for streams only:
//   cancel       bool true: this message is no request but a cancellation of
//                the stream's request in flight with the same id
//                (stream-cancels.ts). Anywhere else it is INVALID_ARGUMENT.

/** Request parameter: the request's own timeout in microseconds (Triton's name and unit). */
export const TIMEOUT_PARAM = 'timeout';
/** Request parameter: the W3C trace context a streamed request's span continues. */
export const TRACEPARENT_PARAM = 'traceparent';
/** Stream-message parameter: `true` cancels the stream's request in flight with the message's id. */
export const CANCEL_PARAM = 'cancel';
/** Longest `timeout` a request may ask for: one hour, in microseconds. */
export const MAX_TIMEOUT_US = 3_600_000_000;

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/**
 * The request's own timeout in milliseconds, or undefined when it sets none
 * (absent or 0). Thrown by: a `timeout` that is not a whole number of
 * microseconds in [0, {@link MAX_TIMEOUT_US}] — INVALID_ARGUMENT.
 */
export function requestTimeoutMs(req: Pick<ModelInferRequest, 'parameters'>): number | undefined {
  const p: InferParameter | undefined = req.parameters[TIMEOUT_PARAM];
  if (p === undefined) return undefined;
  const choice = p.parameterChoice;
  const us = choice?.$case === 'int64Param' || choice?.$case === 'uint64Param' ? choice.value : undefined;
  if (us === undefined || !Number.isSafeInteger(us) || us < 0 || us > MAX_TIMEOUT_US) {
    throw invalid(`parameters["${TIMEOUT_PARAM}"] must be an int64 number of microseconds from 0 to ${MAX_TIMEOUT_US} (one hour), got ${JSON.stringify(choice ?? null)}`);
  }
  return us === 0 ? undefined : us / 1000;
}

/** The earlier of a call's deadline and `timeoutMs` from `now`; undefined when neither is set. */
export function requestDeadline(callDeadline: Date | undefined, timeoutMs: number | undefined, now = Date.now()): Date | undefined {
  if (timeoutMs === undefined) return callDeadline;
  const own = now + timeoutMs;
  return callDeadline && callDeadline.getTime() <= own ? callDeadline : new Date(own);
}

/** The request's `traceparent` parameter, or '' when it has none or it is not a string parameter (then ignored, like a malformed header). */
export function requestTraceparent(req: Pick<ModelInferRequest, 'parameters'>): string {
  const choice = req.parameters[TRACEPARENT_PARAM]?.parameterChoice;
  return choice?.$case === 'stringParam' ? choice.value : '';
}

/** Whether a stream message is a cancellation (its `cancel` parameter is bool true) rather than a request. */
export function isCancelMessage(req: Pick<ModelInferRequest, 'parameters'>): boolean {
  const choice = req.parameters[CANCEL_PARAM]?.parameterChoice;
  return choice?.$case === 'boolParam' && choice.value;
}

/**
 * Checks that a request to run carries no `cancel` parameter (a stream takes
 * cancellations out before they are run). Thrown by: one that does —
 * INVALID_ARGUMENT.
 */
export function checkNoCancelParam(req: Pick<ModelInferRequest, 'parameters'>): void {
  const p = req.parameters[CANCEL_PARAM];
  if (p === undefined) return;
  throw invalid(
    `parameters["${CANCEL_PARAM}"] is only for ModelStreamInfer messages, as bool true (it cancels the stream's request in flight with the same id); got ${JSON.stringify(p.parameterChoice ?? null)}`,
  );
}
