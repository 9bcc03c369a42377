import { ContractError } from './contract-error';
import { parseExperimentsConfig, parseExperimentsJson } from './experiment-config';

interface Arm {
  name: string;
  fraction: number;
  scorer?: string;
  models?: Record<string, string>;
  headWeights?: Record<string, number>;
}
interface Cfg {
  version: string;
  holdout: { fraction: number };
  layers: Array<{ name: string; experiments: Array<{ name: string; traffic?: number; arms: Arm[] }> }>;
}

const valid: Cfg = {
  version: 'v1',
  holdout: { fraction: 0.05 },
  layers: [
    {
      name: 'ranker',
      experiments: [
        {
          name: 'transact-vs-lite',
          traffic: 0.5,
          arms: [
            { name: 'control', fraction: 0.5 },
            { name: 'lite', fraction: 0.5, scorer: 'lite' },
          ],
        },
        { name: 'versions', traffic: 0.5, arms: [{ name: 'v3', fraction: 1, models: { transact_encoder: '3', ranking_heads: '3' } }] },
      ],
    },
    { name: 'weights', experiments: [{ name: 'no-hide-penalty', arms: [{ name: 'b', fraction: 0.5, headWeights: { save: 1, hide: 0 } }] }] },
  ],
};

function clone(): Cfg {
  return JSON.parse(JSON.stringify(valid)) as Cfg;
}

function errorOf(value: unknown): ContractError {
  try {
    parseExperimentsConfig(value, 'test.json');
  } catch (err) {
    if (err instanceof ContractError) return err;
    throw err;
  }
  throw new Error('expected a ContractError');
}

describe('parseExperimentsConfig', () => {
  it('accepts a layered configuration and fills defaults', () => {
    const c = parseExperimentsConfig(valid, 'test.json');
    expect(c.holdout).toEqual({ fraction: 0.05, salt: 'holdout' });
    expect(c.layers[1]?.experiments[0]?.traffic).toBe(1);
    expect(c.layers[0]?.experiments[0]?.arms[1]?.scorer).toBe('lite');
  });

  it('reads the one-experiment form as a layer "default"', () => {
    const c = parseExperimentsConfig({ name: 'w', arms: [{ name: 'a', share: 0.5, headWeights: { save: 2 } }] });
    expect(c.layers).toEqual([{ name: 'default', experiments: [{ name: 'w', traffic: 1, arms: [{ name: 'a', fraction: 0.5, headWeights: { save: 2 } }] }] }]);
  });

  it.each([
    ['arm fractions above 1', (c: Cfg) => (c.layers[0]!.experiments[0]!.arms[0]!.fraction = 0.7), /arm fractions of "transact-vs-lite" sum to 1.2/],
    ['layer traffic above 1', (c: Cfg) => (c.layers[0]!.experiments[1]!.traffic = 0.6), /traffic of the experiments in layer "ranker" sums to 1.1/],
    ['a negative fraction', (c: Cfg) => (c.layers[0]!.experiments[0]!.arms[0]!.fraction = -0.1), /fraction: must be > 0/],
    ['a duplicated arm', (c: Cfg) => (c.layers[0]!.experiments[0]!.arms[1]!.name = 'control'), /arm "control" appears twice/],
    ['a duplicated experiment', (c: Cfg) => (c.layers[1]!.experiments[0]!.name = 'versions'), /experiment "versions" appears twice/],
    ['an unknown scorer', (c: Cfg) => (c.layers[0]!.experiments[0]!.arms[1]!.scorer = 'tiny'), /scorer: must be one of full, lite/],
    ['a holdout of 1', (c: Cfg) => (c.holdout.fraction = 1), /holdout.fraction: must be < 1/],
    [
      'two layers setting one parameter',
      (c: Cfg) => Object.assign(c.layers[1]!.experiments[0]!.arms[0]!, { models: { ranking_heads: '2' } }),
      /models.ranking_heads is already set by layer "ranker"/,
    ],
    ['an unknown field', (c: Cfg) => Object.assign(c.layers[0]!.experiments[0]!.arms[0]!, { share: 0.5 }), /Unrecognized key/],
  ])('refuses %s, naming the field', (_what, mutate, message) => {
    const c = clone();
    mutate(c);
    const err = errorOf(c);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('(in test.json)');
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseExperimentsJson('{"layers": [', 'x.json')).toThrow(/not valid JSON.*\(in x\.json\)/);
  });
});
