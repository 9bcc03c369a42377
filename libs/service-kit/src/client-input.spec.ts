import { MAX_ECHO_BYTES, capStatusDetails, checkId, quote, truncateUtf8 } from './client-input';
import { PinrankError } from './errors';

describe('quote', () => {
  it('quotes short values whole, escaping quotes and control characters', () => {
    expect(quote('u1')).toBe('"u1"');
    expect(quote('a"b\n\u0000')).toBe('"a\\"b\\n\\u0000"');
    expect(quote(42)).toBe('"42"');
  });

  it('keeps at most 128 bytes of a long value and says how long it was', () => {
    const q = quote('x'.repeat(100_000));
    expect(q).toBe(`"${'x'.repeat(MAX_ECHO_BYTES)}…" (100000 bytes)`);
    expect(Buffer.byteLength(q)).toBeLessThan(MAX_ECHO_BYTES + 32);
  });

  it('never splits a multi-byte character', () => {
    const q = quote('é'.repeat(1000), 5); // 2 bytes each: two fit
    expect(q).toBe('"éé…" (2000 bytes)');
    expect(truncateUtf8('😀😀', 5)).toBe('😀');
  });
});

describe('capStatusDetails', () => {
  it('passes short messages and truncates long ones with a marker', () => {
    expect(capStatusDetails('fine')).toBe('fine');
    const capped = capStatusDetails(`a${'b'.repeat(70_000)}`);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(2048 + 32);
    expect(capped.endsWith('(message truncated)')).toBe(true);
  });
});

describe('checkId', () => {
  it('accepts ids up to the byte limit and refuses empty or longer ones as INVALID_ARGUMENT', () => {
    expect(() => checkId('u'.repeat(256), 'user_id')).not.toThrow();
    expect(() => checkId('', 'user_id', { required: false })).not.toThrow();
    const empty = (() => {
      try {
        checkId('', 'user_id');
      } catch (e) {
        return e as PinrankError;
      }
      return undefined;
    })();
    expect(empty).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'user_id: required' });
    // 100 characters but 400 bytes: the limit is in bytes, because stores limit key bytes.
    expect(() => checkId('😀'.repeat(100), 'user_id')).toThrow(/user_id: 400 bytes; at most 256 bytes/);
    expect(() => checkId('u'.repeat(2000), 'item_ids[3]')).toThrow(PinrankError);
  });
});
