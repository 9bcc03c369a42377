import { InferenceDataType, ModelInstanceGroup_Kind } from '@pinrank/proto';
import { affineConfig, gatherConfig } from './testing/tiny-models';
import { tritonModelConfig } from './triton-model-config';

const limits = { maxBatchSize: 16, maxQueueDelayMs: 0.5, queueLimit: 100, maxConcurrentBatches: 1, mode: 'concat' as const };

describe('tritonModelConfig', () => {
  it('reports batching turned off (batch of 1) as no dynamic batching', () => {
    const c = tritonModelConfig({ config: affineConfig('a', '1', 3, 2), limits: { ...limits, maxBatchSize: 1, maxQueueDelayMs: 0 }, provider: 'cpu', versionPolicy: { latest: 2 } });
    expect(c.maxBatchSize).toBe(1);
    expect(c.schedulingChoice).toBeUndefined();
    expect(c.versionPolicy).toEqual({ policyChoice: { $case: 'latest', value: { numVersions: 2 } } });
    expect(c.input).toEqual([{ name: 'x', dataType: InferenceDataType.TYPE_FP32, dims: [3] }]);
  });

  it('rounds the queue delay to microseconds', () => {
    const c = tritonModelConfig({ config: affineConfig('a', '1', 3, 2), limits, provider: 'cpu', versionPolicy: { latest: 1 } });
    expect(c.schedulingChoice?.value.maxQueueDelayMicroseconds).toBe(500);
  });

  it('keeps the full shape when a concat model has a fixed first axis', () => {
    const config = affineConfig('a', '1', 3, 2, { inputs: [{ name: 'x', dtype: 'float32', shape: [4, 3] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }] });
    const c = tritonModelConfig({ config, limits, provider: 'cpu', versionPolicy: { latest: 1 } });
    expect(c.maxBatchSize).toBe(0);
    expect(c.input[0]?.dims).toEqual([4, 3]);
  });

  it('lists numeric version policies as Triton’s specific versions, and others as a parameter', () => {
    const base = { config: gatherConfig('g', '3', 4, 5), limits: { ...limits, mode: 'user_rows' as const }, provider: 'webgpu' };
    expect(tritonModelConfig({ ...base, versionPolicy: { versions: ['3', '10'] } }).versionPolicy).toEqual({ policyChoice: { $case: 'specific', value: { versions: [3, 10] } } });
    const named = tritonModelConfig({ ...base, versionPolicy: { versions: ['2024-a'] } });
    expect(named.versionPolicy).toBeUndefined();
    expect(named.parameters['pinrank.version_policy']).toEqual({ stringValue: 'versions: 2024-a' });
    expect(named.instanceGroup[0]?.kind).toBe(ModelInstanceGroup_Kind.KIND_GPU);
    expect(named.parameters['pinrank.execution_provider']).toEqual({ stringValue: 'webgpu' });
  });

  it('reports a "none" model without dynamic batching', () => {
    const c = tritonModelConfig({ config: affineConfig('a', '1', 3, 2), limits: { ...limits, mode: 'none' }, provider: 'cpu', versionPolicy: { latest: 1 } });
    expect(c.maxBatchSize).toBe(0);
    expect(c.schedulingChoice).toBeUndefined();
    expect(c.input[0]?.dims).toEqual([-1, 3]);
  });
});
