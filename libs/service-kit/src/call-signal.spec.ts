import { CallSignal } from './call-signal';
import { PinrankError } from './errors';

describe('CallSignal (the lazily made abort signal of a served call)', () => {
  it('read after the deadline passed: already aborted with DEADLINE_EXCEEDED', () => {
    const s = new CallSignal(new Date(Date.now() - 1));
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as PinrankError).code).toBe('DEADLINE_EXCEEDED');
  });

  it('read before the deadline: aborts when it passes, not before', async () => {
    const s = new CallSignal(new Date(Date.now() + 40));
    const signal = s.signal;
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as PinrankError).code).toBe('DEADLINE_EXCEEDED');
  });

  it('aborted before anyone read it (a cancel): read later, it carries that first reason', () => {
    const s = new CallSignal(undefined);
    s.abort(new PinrankError('CANCELLED', 'cancelled by the client'));
    s.abort(new Error('second reason is ignored'));
    expect(s.signal.aborted).toBe(true);
    expect((s.signal.reason as PinrankError).code).toBe('CANCELLED');
  });

  it('done() stops the deadline timer: the signal stays unaborted after the call ended', async () => {
    const s = new CallSignal(new Date(Date.now() + 20));
    const signal = s.signal;
    s.done();
    await new Promise((r) => setTimeout(r, 50));
    expect(signal.aborted).toBe(false);
  });
});
