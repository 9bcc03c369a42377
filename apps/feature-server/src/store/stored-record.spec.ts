import { decodeRecord, encodeRecord, type StoredRecord } from './stored-record';

const sample: StoredRecord = {
  actionId: 'a-ü-1',
  userId: 'user-7',
  itemId: 'item-42',
  actionType: 5,
  timestampMs: 1_764_000_000_123,
  surface: 3,
  durationMs: 1500,
  itemKnown: false,
  vector: Float32Array.from({ length: 32 }, (_, i) => i / 3 - 2),
};

describe('stored record codec', () => {
  it('round-trips every field exactly, including millisecond timestamps beyond float32', () => {
    const back = decodeRecord(encodeRecord(sample));
    expect({ ...back, vector: Array.from(back.vector) }).toEqual({ ...sample, vector: Array.from(sample.vector) });
    expect(decodeRecord(encodeRecord({ ...sample, itemKnown: true })).itemKnown).toBe(true);
  });

  it('decodes from a plain Uint8Array view at an offset', () => {
    const bytes = encodeRecord(sample);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeRecord(padded.subarray(3)).actionId).toBe('a-ü-1');
  });

  it('decodes the first `size` bytes of a reused buffer and keeps nothing of it', () => {
    const bytes = encodeRecord(sample);
    const shared = Buffer.alloc(bytes.length + 100, 0xab);
    bytes.copy(shared);
    const back = decodeRecord(shared, bytes.length);
    shared.fill(0);
    expect({ ...back, vector: Array.from(back.vector) }).toEqual({ ...sample, vector: Array.from(sample.vector) });
    expect(() => decodeRecord(shared, bytes.length - 1)).toThrow(RangeError);
  });

  it('refuses truncated values and unknown versions', () => {
    const bytes = encodeRecord(sample);
    expect(() => decodeRecord(bytes.subarray(0, bytes.length - 1))).toThrow(/expected/);
    expect(() => decodeRecord(bytes.subarray(0, 5))).toThrow(/shorter than the header/);
    const other = Buffer.from(bytes);
    other[0] = 9;
    expect(() => decodeRecord(other)).toThrow(/unknown format version 9/);
  });
});
