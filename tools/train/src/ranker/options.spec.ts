import { DEFAULT_LABEL_WEIGHTS } from './loss';
import { resolveRankerOptions } from './options';

describe('resolveRankerOptions', () => {
  const paths = { worldDir: 'w', snapshotsDir: 's', runDir: 'r' };

  it('fills the documented defaults in one place', () => {
    const o = resolveRankerOptions(paths);
    expect(o.variant).toEqual({ sequence: true, pinnerformer: true, compression: 'pool+firstK', timeWindowMask: true });
    expect(o).toMatchObject({ steps: 300, requestsPerBatch: 24, pageSize: 6, trainSeqLen: 32, serveSeqLen: 100, evalDays: 7, timeWindowProb: 0.5, timeWindowMaxS: 3600 });
    expect(o.labelWeights).toBe(DEFAULT_LABEL_WEIGHTS);
    expect(o.encoder).toEqual({ dropout: 0 });
  });

  it('refuses invalid options up front', () => {
    expect(() => resolveRankerOptions({ ...paths, worldDir: '' })).toThrow(/worldDir is required/);
    expect(() => resolveRankerOptions({ ...paths, trainSeqLen: 200 })).toThrow(/trainSeqLen/);
    expect(() => resolveRankerOptions({ ...paths, steps: 0 })).toThrow(/steps/);
    expect(() => resolveRankerOptions({ ...paths, variant: { sequence: false, compression: 'pool' } })).toThrow(/sequence model/);
    expect(() => resolveRankerOptions({ ...paths, labelWeights: [[1, 1, 1]] })).toThrow(/labelWeights/);
  });
});
