import type * as TF from '@tensorflow/tfjs';
import { type WeightStore } from '../weights/weight-store';
import { type GatherCombineOp, MASK_NEGATIVE, type Ops, type ParamInit } from './ops';
import { tfjs } from './tf-runtime';

type Tensor = TF.Tensor;

/** Options of the TensorFlow.js backend. */
export interface TfOpsOptions {
  /** Apply dropout (training). Default false. */
  training?: boolean;
  /** Create parameters as trainable `tf.Variable`s. Default false (plain tensors). */
  trainable?: boolean;
}

/**
 * The TensorFlow.js implementation of `Ops` (training and reference forward
 * passes). Parameters come from a `WeightStore` and are created once per
 * name; call `dispose()` to free them. Run forward passes inside `tf.tidy`.
 * `gather` is a one-hot matrix product so that it has a gradient on the wasm
 * backend (which lacks UnsortedSegmentSum). Construct it after `initTfBackend`.
 */
export class TfOps implements Ops<Tensor> {
  readonly backend = 'tfjs' as const;
  private readonly params = new Map<string, Tensor>();
  private readonly options: Required<TfOpsOptions>;
  private readonly tf = tfjs();

  constructor(
    private readonly weights: WeightStore,
    options: TfOpsOptions = {},
  ) {
    this.options = { training: options.training ?? false, trainable: options.trainable ?? false };
  }

  param(name: string, shape: readonly number[], init: ParamInit): Tensor {
    let p = this.params.get(name);
    if (!p) {
      const w = this.weights.get(name, shape, init);
      p = this.tf.tidy(() => {
        const t = this.tf.tensor(w.data, w.shape, 'float32');
        return this.options.trainable ? this.tf.variable(t, true, name.replace(/[^A-Za-z0-9_]/g, '_')) : t;
      });
      this.tf.keep(p);
      this.params.set(name, p);
    }
    return p;
  }

  /** The parameters created so far, by name (trainable variables when `trainable` is set). */
  parameters(): ReadonlyMap<string, Tensor> {
    return this.params;
  }

  /** Copies the current parameter values back into the weight store (after training steps). */
  async writeBack(): Promise<void> {
    for (const [name, p] of this.params) {
      this.weights.set(name, { shape: [...p.shape], data: (await p.data()) as Float32Array });
    }
  }

  /** Frees every parameter tensor. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
    this.params.clear();
  }

  constant(values: readonly number[] | Float32Array, shape: readonly number[]): Tensor {
    return this.tf.tensor(Float32Array.from(values), [...shape], 'float32');
  }
  scalar(value: number): Tensor {
    return this.tf.scalar(value, 'float32');
  }

  matmul(a: Tensor, b: Tensor): Tensor {
    // tfjs broadcasts batch axes in the forward pass but its gradient does not
    // reduce them back, so broadcasting is made explicit here.
    if (a.rank > 2 && b.rank === 2) {
      const k = a.shape[a.rank - 1]!;
      return this.tf.matMul(a.reshape([-1, k]), b).reshape([...a.shape.slice(0, -1), b.shape[1]!]);
    }
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    if (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i])) {
      const rank = Math.max(a.rank, b.rank);
      const padded = (t: Tensor): number[] => [...new Array<number>(rank - t.rank).fill(1), ...t.shape];
      const pa = padded(a);
      const pb = padded(b);
      const batch = pa.slice(0, -2).map((d, i) => Math.max(d, pb[i]!));
      return this.tf.matMul(this.tf.broadcastTo(a, [...batch, ...pa.slice(-2)]), this.tf.broadcastTo(b, [...batch, ...pb.slice(-2)]));
    }
    return this.tf.matMul(a, b);
  }
  matmulAdd(a: Tensor, b: Tensor, c: Tensor): Tensor {
    return this.tf.add(this.tf.matMul(a, b), c);
  }
  add(a: Tensor, b: Tensor): Tensor {
    return this.tf.add(a, b);
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.tf.sub(a, b);
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.tf.mul(a, b);
  }
  div(a: Tensor, b: Tensor): Tensor {
    return this.tf.div(a, b);
  }
  relu(x: Tensor): Tensor {
    return this.tf.relu(x);
  }
  sigmoid(x: Tensor): Tensor {
    return this.tf.sigmoid(x);
  }
  tanh(x: Tensor): Tensor {
    return this.tf.tanh(x);
  }
  exp(x: Tensor): Tensor {
    return this.tf.exp(x);
  }
  log(x: Tensor): Tensor {
    return this.tf.log(x);
  }
  sqrt(x: Tensor): Tensor {
    return this.tf.sqrt(x);
  }
  sin(x: Tensor): Tensor {
    return this.tf.sin(x);
  }
  cos(x: Tensor): Tensor {
    return this.tf.cos(x);
  }
  erf(x: Tensor): Tensor {
    return this.tf.erf(x);
  }

  gather(table: Tensor, indices: Tensor): Tensor {
    const rows = table.shape[0]!;
    const rest = table.shape.slice(1);
    const width = rest.reduce((a, b) => a * b, 1);
    // A one-row table (every index 0): broadcast it (oneHot needs a depth of 2 or more).
    if (rows === 1) return this.tf.broadcastTo(table.reshape([width]), [indices.size, width]).reshape([...indices.shape, ...rest]);
    // oneHot's float32 dtype is broken on the wasm backend (it writes int bit patterns): build int32, then cast.
    const oneHot = this.tf.cast(this.tf.oneHot(this.tf.cast(indices, 'int32').flatten(), rows), 'float32');
    const picked = this.tf.matMul(oneHot, table.reshape([rows, width]));
    return picked.reshape([...indices.shape, ...rest]);
  }
  softmax(x: Tensor): Tensor {
    return this.tf.softmax(x, -1);
  }
  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
    const mean = this.tf.mean(x, -1, true);
    const centred = this.tf.sub(x, mean);
    const variance = this.tf.mean(this.tf.square(centred), -1, true);
    return this.tf.add(this.tf.mul(this.tf.div(centred, this.tf.sqrt(this.tf.add(variance, eps))), gamma), beta);
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    return this.tf.concat([...xs], normaliseAxis(axis, xs[0]!.rank));
  }
  reduceMax(x: Tensor, axis: number, keepDims: boolean): Tensor {
    return this.tf.max(x, axis, keepDims);
  }
  reduceSum(x: Tensor, axis: number, keepDims: boolean): Tensor {
    return this.tf.sum(x, axis, keepDims);
  }
  reduceMean(x: Tensor, axis: number, keepDims: boolean): Tensor {
    return this.tf.mean(x, axis, keepDims);
  }
  reshapeLike(x: Tensor, like: Tensor): Tensor {
    return this.tf.reshape(x, [...like.shape]);
  }
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    return this.tf.reshape(
      x,
      shape.map((d, i) => (d === 0 ? x.shape[i]! : d)),
    );
  }
  transpose(x: Tensor, perm: readonly number[]): Tensor {
    return this.tf.transpose(x, [...perm]);
  }
  slice(x: Tensor, axis: number, start: number, end: number): Tensor {
    const a = normaliseAxis(axis, x.rank);
    const begin = x.shape.map((_, i) => (i === a ? start : 0));
    const size = x.shape.map((d, i) => (i === a ? Math.min(end, d) - start : d));
    return this.tf.slice(x, begin, size);
  }
  expandDims(x: Tensor, axis: number): Tensor {
    return this.tf.expandDims(x, axis < 0 ? x.rank + 1 + axis : axis);
  }
  broadcastLike(x: Tensor, like: Tensor): Tensor {
    return this.tf.broadcastTo(x, [...like.shape.slice(0, -1), x.shape[x.rank - 1]!]);
  }
  toFloat(x: Tensor): Tensor {
    return this.tf.cast(x, 'float32');
  }
  greater(a: Tensor, b: Tensor): Tensor {
    return this.tf.cast(this.tf.greater(a, b), 'float32');
  }
  greaterOrEqual(a: Tensor, b: Tensor): Tensor {
    return this.tf.cast(this.tf.greaterEqual(a, b), 'float32');
  }
  gatherCombine(op: GatherCombineOp, table: Tensor, indices: Tensor, b: Tensor): Tensor {
    const rows = table.shape[0] === 1 ? table : this.gather(table, indices);
    return op === 'matmul' ? this.matmul(rows, b) : op === 'add' ? this.add(rows, b) : this.mul(rows, b);
  }
  attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, keyMask: Tensor, heads: number): Tensor {
    const d = q.shape[q.rank - 1]!;
    const dh = d / heads;
    const split = (x: Tensor, part: number): Tensor =>
      this.transpose(this.reshape(this.add(x, this.slice(bias, 0, part * d, (part + 1) * d)), [0, 0, heads, dh]), [0, 2, 1, 3]);
    const scores = this.mul(this.matmul(split(q, 0), this.transpose(split(k, 1), [0, 1, 3, 2])), this.scalar(1 / Math.sqrt(dh)));
    const keyBias = this.reshape(this.mul(this.sub(this.scalar(1), keyMask), this.scalar(MASK_NEGATIVE)), [0, 1, 1, -1]);
    const mixed = this.matmul(this.softmax(this.add(scores, keyBias)), split(v, 2));
    return this.reshape(this.transpose(mixed, [0, 2, 1, 3]), [0, 0, d]);
  }
  trimPadding(xs: readonly Tensor[], keep: Tensor): Tensor[] {
    const [rows, width] = [keep.shape[0]!, keep.shape[1]!];
    const flags = keep.dataSync();
    let length = 1;
    for (let r = 0; r < rows; r++) for (let j = width - 1; j >= length; j--) if (flags[r * width + j] !== 0) length = j + 1;
    return length === width ? [...xs] : xs.map((x) => this.slice(x, 1, 0, length));
  }
  dropout(x: Tensor, rate: number): Tensor {
    return this.options.training && rate > 0 ? this.tf.dropout(x, rate) : x;
  }
}

function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? rank + axis : axis;
}
