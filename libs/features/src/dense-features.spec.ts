import { DENSE_FEATURES, DENSE_FEATURE_NAMES, denseFeatureRows, denseUserColumns, writeDenseRows } from './dense-features';

describe('dense features', () => {
  const sequence = { length: 3, agesS: new Float32Array([7200, 9000, 12_000, -1, -1]) };

  it('builds one row per candidate: log1p(popularity), fill, recency, missing vector', () => {
    const rows = denseFeatureRows([10, 0, -4], sequence, false);
    expect(DENSE_FEATURE_NAMES).toHaveLength(DENSE_FEATURES);
    expect(rows).toHaveLength(3 * DENSE_FEATURES);
    const f = Math.fround;
    expect(Array.from(rows.subarray(0, 4))).toEqual([f(Math.log1p(10)), f(0.03), f(Math.log1p(2)), 0]);
    // Unknown (0) and negative popularity both give 0.
    expect(rows[4]).toBe(0);
    expect(rows[8]).toBe(0);
    expect(Array.from(rows.subarray(8, 12))).toEqual([0, f(0.03), f(Math.log1p(2)), 0]);
  });

  it('gives an empty sequence no recency and flags a missing user vector', () => {
    const user = denseUserColumns({ length: 0, agesS: new Float32Array([-1]) }, true);
    expect(user).toEqual({ sequenceFill: 0, log1pHoursSinceNewest: 0, userVectorMissing: 1 });
  });

  it('writes rows at an offset, so a batch of requests shares one matrix', () => {
    const out = new Float32Array(5 * DENSE_FEATURES);
    writeDenseRows(out, 2, [1, 2], denseUserColumns(sequence, true));
    expect(Array.from(out.subarray(0, 8))).toEqual(new Array(8).fill(0));
    expect(Array.from(out.subarray(8, 16))).toEqual(Array.from(denseFeatureRows([1, 2], sequence, true)));
  });
});
