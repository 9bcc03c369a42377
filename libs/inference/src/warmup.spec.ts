import { parseModelConfig } from '@pinrank/contracts';
import { warmupBatchSizes, warmupInputs } from './warmup';

const config = (warmup: unknown) =>
  parseModelConfig(
    {
      name: 'm',
      version: '1',
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', dtype: 'float32', shape: [-1, -1, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      placement: 'cpu',
      executionProviders: ['cpu'],
      batching: { mode: 'concat', maxBatchSize: 256, maxQueueDelayMs: 2, queueLimit: 8 },
      ...(warmup === undefined ? {} : { warmup }),
    },
    'test',
  );

describe('warm-up', () => {
  it('warms at the configured batch sizes, the worker override first, each capped at maxBatchSize', () => {
    expect(warmupBatchSizes(config(undefined), 256)).toEqual([1]);
    expect(warmupBatchSizes(config({ runs: 1, batchSize: 8 }), 256)).toEqual([8]);
    expect(warmupBatchSizes(config({ runs: 1, batchSize: 8, batchSizes: [1, 128, 512] }), 256)).toEqual([1, 128, 256]);
    expect(warmupBatchSizes(config({ runs: 1, batchSize: 8, batchSizes: [1, 128] }), 64, [1, 128, 1000])).toEqual([1, 64]);
  });

  it('builds inputs with the batch size on axis 0 and 1 on the other dynamic axes', () => {
    expect(warmupInputs(config(undefined), 128)['x']?.dims).toEqual([128, 1, 4]);
  });

  it('rejects an empty or oversized list in the config', () => {
    expect(() => config({ runs: 1, batchSize: 1, batchSizes: [] })).toThrow();
    expect(() => config({ runs: 1, batchSize: 1, batchSizes: [0] })).toThrow();
  });
});
