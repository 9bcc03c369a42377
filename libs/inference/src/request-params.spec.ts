import { MAX_TIMEOUT_US, requestDeadline, requestTimeoutMs, requestTraceparent, TIMEOUT_PARAM, TRACEPARENT_PARAM } from './request-params';

const int64 = (value: number) => ({ parameterChoice: { $case: 'int64Param' as const, value } });
const str = (value: string) => ({ parameterChoice: { $case: 'stringParam' as const, value } });

describe('request parameters: timeout and traceparent', () => {
  it('reads Triton’s timeout in microseconds; 0 or absent sets none', () => {
    expect(requestTimeoutMs({ parameters: {} })).toBeUndefined();
    expect(requestTimeoutMs({ parameters: { [TIMEOUT_PARAM]: int64(0) } })).toBeUndefined();
    expect(requestTimeoutMs({ parameters: { [TIMEOUT_PARAM]: int64(250_000) } })).toBe(250);
    expect(requestTimeoutMs({ parameters: { [TIMEOUT_PARAM]: { parameterChoice: { $case: 'uint64Param', value: 1500 } } } })).toBe(1.5);
    expect(requestTimeoutMs({ parameters: { [TIMEOUT_PARAM]: int64(MAX_TIMEOUT_US) } })).toBe(3_600_000);
  });

  it.each([
    ['a string', str('100')],
    ['negative', int64(-1)],
    ['over an hour', int64(MAX_TIMEOUT_US + 1)],
    ['fractional', { parameterChoice: { $case: 'doubleParam' as const, value: 1.5 } }],
    ['empty', { parameterChoice: undefined }],
  ])('refuses a timeout that is %s, naming the parameter', (_what, p) => {
    expect(() => requestTimeoutMs({ parameters: { [TIMEOUT_PARAM]: p } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^parameters\["timeout"\] must be an int64 number of microseconds/) }));
  });

  it('the earlier of the call’s deadline and the request’s own timeout wins', () => {
    const now = 1_000_000;
    expect(requestDeadline(undefined, undefined, now)).toBeUndefined();
    expect(requestDeadline(undefined, 50, now)).toEqual(new Date(now + 50));
    expect(requestDeadline(new Date(now + 20), 50, now)).toEqual(new Date(now + 20));
    expect(requestDeadline(new Date(now + 90), 50, now)).toEqual(new Date(now + 50));
    expect(requestDeadline(new Date(now + 90), undefined, now)).toEqual(new Date(now + 90));
  });

  it('reads traceparent as a string parameter and ignores any other kind', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(requestTraceparent({ parameters: { [TRACEPARENT_PARAM]: str(tp) } })).toBe(tp);
    expect(requestTraceparent({ parameters: { [TRACEPARENT_PARAM]: int64(3) } })).toBe('');
    expect(requestTraceparent({ parameters: {} })).toBe('');
  });
});
