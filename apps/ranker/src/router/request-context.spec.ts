import { Metadata } from '@grpc/grpc-js';
import { DegradedFlag } from '@pinrank/proto';
import { type CallContext } from '@pinrank/service-kit';
import { RequestDeadline } from './deadline';
import { RequestContext } from './request-context';

describe('RequestContext', () => {
  it('keeps each flag once, logs it once with its first reason, and lists flags in enum order', () => {
    const lines: unknown[] = [];
    const logger = { info: (obj: unknown) => lines.push(obj) } as unknown as NonNullable<ConstructorParameters<typeof RequestContext>[0]['logger']>;
    const ctx = new RequestContext({ deadline: new RequestDeadline(Date.now() + 1000, 5), requestId: 'r1', logger });
    ctx.flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, 'no vector');
    ctx.flag(DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE, 'down');
    ctx.flag(DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING, 'again');
    expect(ctx.degraded()).toEqual([DegradedFlag.DEGRADED_FLAG_SEQUENCE_UNAVAILABLE, DegradedFlag.DEGRADED_FLAG_USER_VECTOR_MISSING].sort((a, b) => a - b));
    expect(lines).toEqual([
      { requestId: 'r1', flag: 'DEGRADED_FLAG_USER_VECTOR_MISSING', reason: 'no vector' },
      { requestId: 'r1', flag: 'DEGRADED_FLAG_SEQUENCE_UNAVAILABLE', reason: 'down' },
    ]);
  });

  it("takes the caller's deadline and a usable x-request-id from the incoming call", () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'abc-123');
    const deadline = new Date(Date.now() + 300);
    const call = { metadata, deadline, signal: new AbortController().signal } as unknown as CallContext;
    const ctx = RequestContext.fromCall(call, { defaultDeadlineMs: 1000, deadlineMarginMs: 5 });
    expect(ctx.requestId).toBe('abc-123');
    expect(ctx.deadline.endMs).toBe(deadline.getTime());
    expect(ctx.callOptions(50, false)).toEqual({ parent: call, timeoutMs: 50, retry: false });
    expect(ctx.callOptions(0, true)).toEqual({ parent: call, timeoutMs: 1 });
    metadata.set('x-request-id', 'x'.repeat(129));
    expect(RequestContext.fromCall(call, { defaultDeadlineMs: 1000, deadlineMarginMs: 5 }).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
