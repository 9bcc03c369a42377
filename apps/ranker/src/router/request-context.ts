import { randomUUID } from 'node:crypto';
import { degradedFlagToJSON, type DegradedFlag } from '@pinrank/proto';
import { type CallContext, type UnaryCallOptions } from '@pinrank/service-kit';
import { type Logger } from 'pino';
import { RequestDeadline } from './deadline';
import { StageClock } from './stage-clock';

/** Options of {@link RequestContext}. */
export interface RequestContextOptions {
  /** The request's time budget. Required. */
  deadline: RequestDeadline;
  /** The id reported in the response, the request log and to the workers; default a random UUID. */
  requestId?: string;
  /** The incoming call: its cancellation cancels outgoing calls and its span is their parent; default none. */
  parent?: CallContext;
  /** The stage clock; default one on performance.now(). */
  clock?: StageClock;
  /** Where each degraded path is logged once; default the parent call's logger, else none. */
  logger?: Logger;
}

/** What a caller may name as its request id: at most this many characters. */
const MAX_REQUEST_ID_CHARS = 128;

/**
 * One request as every stage of it sees it: the time budget outgoing calls
 * derive their deadlines from, the request id, the incoming call, the degraded
 * paths taken and the stage clock. Rank and Recommend build one per request and
 * pass it down, so flags and timings are collected in one place.
 */
export class RequestContext {
  readonly deadline: RequestDeadline;
  readonly requestId: string;
  readonly parent: CallContext | undefined;
  readonly clock: StageClock;
  private readonly logger: Logger | undefined;
  private readonly flags = new Map<DegradedFlag, string>();

  constructor(o: RequestContextOptions) {
    this.deadline = o.deadline;
    this.requestId = o.requestId ?? randomUUID();
    this.parent = o.parent;
    this.clock = o.clock ?? new StageClock();
    this.logger = o.logger ?? o.parent?.logger;
  }

  /**
   * The context of an incoming gRPC call: its deadline (or `defaultDeadlineMs`
   * from now) less `deadlineMarginMs`, and its `x-request-id` when the caller
   * sent a usable one.
   */
  static fromCall(call: CallContext, o: { defaultDeadlineMs: number; deadlineMarginMs: number }): RequestContext {
    const given = call.metadata.get('x-request-id')[0];
    const usable = typeof given === 'string' && given.length > 0 && given.length <= MAX_REQUEST_ID_CHARS;
    return new RequestContext({
      deadline: RequestDeadline.fromCall(call.deadline, o.defaultDeadlineMs, o.deadlineMarginMs),
      ...(usable ? { requestId: given } : {}),
      parent: call,
    });
  }

  /** Records a degraded path; the first time per flag, logs why. */
  flag(flag: DegradedFlag, reason: string): void {
    if (this.flags.has(flag)) return;
    this.flags.set(flag, reason);
    this.logger?.info({ requestId: this.requestId, flag: degradedFlagToJSON(flag), reason }, 'degraded path');
  }

  /** The degraded paths taken so far, in enum order (as responses list them). */
  degraded(): DegradedFlag[] {
    return [...this.flags.keys()].sort((a, b) => a - b);
  }

  /** Whether the caller has cancelled (or its deadline passed at the server). */
  get cancelled(): boolean {
    return this.parent?.signal.aborted === true;
  }

  /** Service-kit options of one outgoing call of this request that may take `timeoutMs`. */
  callOptions(timeoutMs: number, retry: boolean): UnaryCallOptions {
    return { ...(this.parent ? { parent: this.parent } : {}), timeoutMs: Math.max(1, timeoutMs), ...(retry ? {} : { retry: false }) };
  }
}
