import { Metadata, status } from '@grpc/grpc-js';
import { ERROR_CODES, PinrankError, isServiceError, toGrpcStatus } from './errors';

describe('toGrpcStatus', () => {
  it.each(ERROR_CODES.map((c) => [c]))('maps PinrankError %s to the gRPC status of the same name', (code) => {
    const mapped = toGrpcStatus(new PinrankError(code, `msg ${code}`));
    expect(mapped.status.code).toBe(status[code]);
    expect(mapped.status.details).toBe(`msg ${code}`);
    expect(mapped.unexpected).toBe(false);
  });

  it('keeps the numeric codes of gRPC (spot check)', () => {
    expect(toGrpcStatus(new PinrankError('INVALID_ARGUMENT', 'x')).status.code).toBe(3);
    expect(toGrpcStatus(new PinrankError('UNAVAILABLE', 'x')).status.code).toBe(14);
    expect(toGrpcStatus(new PinrankError('UNAUTHENTICATED', 'x')).status.code).toBe(16);
  });

  it('turns anything else into INTERNAL without its message or stack, quoting the trace id', () => {
    const boom = new Error('secret connection string');
    const mapped = toGrpcStatus(boom, 'abc123');
    expect(mapped.status).toEqual({ code: status.INTERNAL, details: 'internal error (trace_id abc123)' });
    expect(mapped.unexpected).toBe(true);
    expect(mapped.error.cause).toBe(boom);
    expect(toGrpcStatus('a string').status.details).toBe('internal error');
  });

  it('sends the trailers of a PinrankError', () => {
    const md = new Metadata();
    md.set('retry-after-ms', '100');
    expect(toGrpcStatus(new PinrankError('RESOURCE_EXHAUSTED', 'busy', { metadata: md })).status.metadata).toBe(md);
  });
});

describe('PinrankError', () => {
  it('rejects codes that are not gRPC status names', () => {
    expect(() => new PinrankError('OK' as never, 'x')).toThrow(TypeError);
  });

  it('keeps the cause', () => {
    const cause = new Error('disk');
    expect(new PinrankError('DATA_LOSS', 'x', { cause }).cause).toBe(cause);
  });

  it('from() keeps PinrankErrors, reads client ServiceErrors, and wraps the rest as INTERNAL', () => {
    const e = new PinrankError('NOT_FOUND', 'nope');
    expect(PinrankError.from(e)).toBe(e);
    const svc = Object.assign(new Error('14 UNAVAILABLE: down'), { code: status.UNAVAILABLE, details: 'down', metadata: new Metadata() });
    expect(isServiceError(svc)).toBe(true);
    expect(PinrankError.from(svc)).toMatchObject({ code: 'UNAVAILABLE', message: 'down' });
    const bug = new TypeError('bug');
    expect(PinrankError.from(bug)).toMatchObject({ code: 'INTERNAL', message: 'bug', cause: bug, unexpected: true });
    expect(PinrankError.from(svc).unexpected).toBe(false);
  });

  it('from() keeps a thrown string, and answers the fallback message for other values or an empty message', () => {
    expect(PinrankError.from('a string')).toMatchObject({ code: 'INTERNAL', message: 'a string', cause: 'a string', unexpected: true });
    expect(PinrankError.from({ not: 'an error' })).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    expect(PinrankError.from(undefined, 'the model failed')).toMatchObject({ message: 'the model failed' });
    expect(PinrankError.from(new Error(''), 'the model failed')).toMatchObject({ message: 'the model failed' });
    expect(PinrankError.from(new Error('disk full'), 'the model failed')).toMatchObject({ message: 'disk full' });
  });

  it('from() keeping the message changes nothing on the wire: clients still get a generic INTERNAL', () => {
    const wrapped = PinrankError.from(new Error('secret connection string'));
    const mapped = toGrpcStatus(wrapped, 'abc123');
    expect(mapped.status).toEqual({ code: status.INTERNAL, details: 'internal error (trace_id abc123)' });
    expect(mapped.unexpected).toBe(true);
    expect(mapped.error.cause).toBe(wrapped);
    expect(mapped.error.message).not.toContain('secret');
  });
});
