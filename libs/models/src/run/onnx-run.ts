import { InferenceSession, Tensor } from 'onnxruntime-node';
import { type Feeds } from '../models/model-definition';
import { type HostTensor } from './tf-forward';

/** Opens an ONNX Runtime CPU session on serialised model bytes (tests, build checks, benchmarks). */
export async function createCpuSession(model: Uint8Array, options: InferenceSession.SessionOptions = {}): Promise<InferenceSession> {
  return InferenceSession.create(model, { executionProviders: ['cpu'], ...options });
}

/** Runs a session on feeds and copies its float32 outputs out. */
export async function runOnnx(session: InferenceSession, feeds: Feeds): Promise<Record<string, HostTensor>> {
  const ortFeeds: Record<string, Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new Tensor(f.dtype, f.data, f.shape);
  const out = await session.run(ortFeeds);
  const result: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(out)) {
    if (t.type !== 'float32') throw new Error(`output "${name}" is ${t.type}, expected float32`);
    result[name] = { shape: [...t.dims], data: t.data as Float32Array };
  }
  return result;
}
