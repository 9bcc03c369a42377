import type * as TF from '@tensorflow/tfjs';
import { type Feeds, type FeedTensor, type GraphSpec } from '../models/model-definition';
import { type TfOps } from '../ops/tf-ops';
import { tfjs } from '../ops/tf-runtime';

/** A float32 result copied out of a backend. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** A feed as a TensorFlow.js tensor (int64 ids become int32). */
export function feedToTf(feed: FeedTensor): TF.Tensor {
  const tf = tfjs();
  if (feed.dtype === 'float32') return tf.tensor(feed.data, feed.shape, 'float32');
  return tf.tensor(Int32Array.from(feed.data, (v) => Number(v)), feed.shape, 'int32');
}

/** Runs `spec`'s forward pass on TensorFlow.js (inference) and copies its outputs out. */
export function runTfForward(spec: GraphSpec, ops: TfOps, feeds: Feeds): Record<string, HostTensor> {
  const tf = tfjs();
  tf.engine().startScope();
  try {
    const inputs = Object.fromEntries(spec.inputs.map((io) => [io.name, feedToTf(requireFeed(feeds, io.name))]));
    const outputs = spec.forward(ops, inputs);
    const result: Record<string, HostTensor> = {};
    for (const io of spec.outputs) {
      const t = outputs[io.name];
      if (!t) throw new Error(`${spec.name}: forward pass produced no "${io.name}"`);
      result[io.name] = { shape: [...t.shape], data: t.dataSync() as Float32Array };
    }
    return result;
  } finally {
    tf.engine().endScope();
  }
}

function requireFeed(feeds: Feeds, name: string): FeedTensor {
  const f = feeds[name];
  if (!f) throw new TypeError(`missing feed "${name}"`);
  return f;
}
