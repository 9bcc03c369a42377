import { onnx } from 'onnx-proto';
import { type WeightStore } from '../weights/weight-store';
import { type GatherCombineOp, MASK_NEGATIVE, type Ops, type ParamInit } from './ops';

/** ONNX IR version written into emitted models (ONNX Runtime 1.30 reads up to 13). */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset of emitted models (17: LayerNormalization, attribute-style ReduceMax/ReduceMean). */
export const ONNX_OPSET = 17;
/** ONNX Runtime's contrib operator domain (fused kernels such as MultiHeadAttention); imported only by graphs that use it. */
export const CONTRIB_DOMAIN = 'com.microsoft';

/** A value in the ONNX graph being emitted. */
export interface OnnxValue {
  readonly onnxName: string;
}

/** A graph input or output: its name, element type and shape (a string names a dynamic axis). */
export interface OnnxIoSpec {
  name: string;
  dtype: 'float32' | 'int64';
  shape: ReadonlyArray<number | string>;
}

const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;
const ATTR = onnx.AttributeProto.AttributeType;

/**
 * The ONNX graph emitter implementation of `Ops` (serving). Every op call
 * appends nodes; parameters become initializers named as the parameter, with
 * their bytes in `rawData`. Declare inputs with `input`, mark results with
 * `output`, then serialise with `toBytes`.
 */
export class OnnxGraphBuilder implements Ops<OnnxValue> {
  readonly backend = 'onnx' as const;
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly params = new Map<string, OnnxValue>();
  private readonly constants = new Map<string, OnnxValue>();
  private counter = 0;
  private usesContrib = false;

  constructor(
    private readonly weights: WeightStore,
    private readonly graphName = 'pinrank',
  ) {}

  /** Declares a graph input. */
  input(spec: OnnxIoSpec): OnnxValue {
    this.inputs.push(valueInfo(spec));
    return { onnxName: spec.name };
  }

  /** Declares `value` as the graph output `spec.name` (through an Identity node). */
  output(value: OnnxValue, spec: OnnxIoSpec): void {
    this.nodes.push({ opType: 'Identity', name: `out_${spec.name}`, input: [value.onnxName], output: [spec.name] });
    this.outputs.push(valueInfo(spec));
  }

  /** The serialised ModelProto. */
  toBytes(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }, ...(this.usesContrib ? [{ domain: CONTRIB_DOMAIN, version: 1 }] : [])],
      producerName: 'pinrank',
      producerVersion: '1',
      docString,
      graph: onnx.GraphProto.create({
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  param(name: string, shape: readonly number[], init: ParamInit): OnnxValue {
    let v = this.params.get(name);
    if (!v) {
      const w = this.weights.get(name, shape, init);
      this.initializers.push(floatTensor(name, w.shape, w.data));
      v = { onnxName: name };
      this.params.set(name, v);
    }
    return v;
  }

  constant(values: readonly number[] | Float32Array, shape: readonly number[]): OnnxValue {
    const data = Float32Array.from(values);
    const name = `const_${this.counter++}`;
    this.initializers.push(floatTensor(name, [...shape], data));
    return { onnxName: name };
  }

  scalar(value: number): OnnxValue {
    const key = `f:${value}`;
    let v = this.constants.get(key);
    if (!v) {
      v = this.constant([value], []);
      this.constants.set(key, v);
    }
    return v;
  }

  matmul(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.node('MatMul', [a, b]);
  }
  /** Gemm: the addend is its C input, so a residual costs no separate pass. */
  matmulAdd(a: OnnxValue, b: OnnxValue, c: OnnxValue): OnnxValue {
    return this.node('Gemm', [a, b, c]);
  }
  add(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.node('Add', [a, b]);
  }
  sub(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.node('Sub', [a, b]);
  }
  mul(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.node('Mul', [a, b]);
  }
  div(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.node('Div', [a, b]);
  }
  relu(x: OnnxValue): OnnxValue {
    return this.node('Relu', [x]);
  }
  sigmoid(x: OnnxValue): OnnxValue {
    return this.node('Sigmoid', [x]);
  }
  tanh(x: OnnxValue): OnnxValue {
    return this.node('Tanh', [x]);
  }
  exp(x: OnnxValue): OnnxValue {
    return this.node('Exp', [x]);
  }
  log(x: OnnxValue): OnnxValue {
    return this.node('Log', [x]);
  }
  sqrt(x: OnnxValue): OnnxValue {
    return this.node('Sqrt', [x]);
  }
  sin(x: OnnxValue): OnnxValue {
    return this.node('Sin', [x]);
  }
  cos(x: OnnxValue): OnnxValue {
    return this.node('Cos', [x]);
  }
  erf(x: OnnxValue): OnnxValue {
    return this.node('Erf', [x]);
  }

  gather(table: OnnxValue, indices: OnnxValue): OnnxValue {
    return this.node('Gather', [table, indices], [intAttr('axis', 0)]);
  }
  softmax(x: OnnxValue): OnnxValue {
    return this.node('Softmax', [x], [intAttr('axis', -1)]);
  }
  layerNorm(x: OnnxValue, gamma: OnnxValue, beta: OnnxValue, eps: number): OnnxValue {
    return this.node('LayerNormalization', [x, gamma, beta], [intAttr('axis', -1), floatAttr('epsilon', eps)]);
  }
  concat(xs: readonly OnnxValue[], axis: number): OnnxValue {
    return this.node('Concat', xs, [intAttr('axis', axis)]);
  }
  reduceMax(x: OnnxValue, axis: number, keepDims: boolean): OnnxValue {
    return this.node('ReduceMax', [x], [intsAttr('axes', [axis]), intAttr('keepdims', keepDims ? 1 : 0)]);
  }
  reduceMean(x: OnnxValue, axis: number, keepDims: boolean): OnnxValue {
    return this.node('ReduceMean', [x], [intsAttr('axes', [axis]), intAttr('keepdims', keepDims ? 1 : 0)]);
  }
  reduceSum(x: OnnxValue, axis: number, keepDims: boolean): OnnxValue {
    return this.node('ReduceSum', [x, this.int64([axis])], [intAttr('keepdims', keepDims ? 1 : 0)]);
  }
  reshapeLike(x: OnnxValue, like: OnnxValue): OnnxValue {
    return this.node('Reshape', [x, this.node('Shape', [like])]);
  }
  reshape(x: OnnxValue, shape: readonly number[]): OnnxValue {
    return this.node('Reshape', [x, this.int64(shape)]);
  }
  transpose(x: OnnxValue, perm: readonly number[]): OnnxValue {
    return this.node('Transpose', [x], [intsAttr('perm', perm)]);
  }
  slice(x: OnnxValue, axis: number, start: number, end: number): OnnxValue {
    return this.node('Slice', [x, this.int64([start]), this.int64([end]), this.int64([axis])]);
  }
  expandDims(x: OnnxValue, axis: number): OnnxValue {
    return this.node('Unsqueeze', [x, this.int64([axis])]);
  }
  broadcastLike(x: OnnxValue, like: OnnxValue): OnnxValue {
    const lead = this.node('Shape', [like], [intAttr('end', -1)]);
    const last = this.node('Shape', [x], [intAttr('start', -1)]);
    return this.node('Expand', [x, this.node('Concat', [lead, last], [intAttr('axis', 0)])]);
  }
  toFloat(x: OnnxValue): OnnxValue {
    return this.node('Cast', [x], [intAttr('to', ELEM.float32)]);
  }
  greater(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.toFloat(this.node('Greater', [a, b]));
  }
  greaterOrEqual(a: OnnxValue, b: OnnxValue): OnnxValue {
    return this.toFloat(this.node('GreaterOrEqual', [a, b]));
  }
  dropout(x: OnnxValue, _rate: number): OnnxValue {
    return x;
  }
  /** The prefix length as a graph value: max over keep ⊙ (1…S), at least 1, then one dynamic Slice per input. */
  trimPadding(xs: readonly OnnxValue[], keep: OnnxValue): OnnxValue[] {
    const ones = this.add(this.mul(keep, this.scalar(0)), this.scalar(1));
    const positions = this.node('CumSum', [ones, this.int64([1])]); // 1…S per row
    const last = this.node('ReduceMax', [this.mul(keep, positions)], [intAttr('keepdims', 0)]);
    const length = this.node('Cast', [this.node('Max', [last, this.scalar(1)])], [intAttr('to', onnx.TensorProto.DataType.INT64)]);
    const end = this.reshape(length, [1]);
    return xs.map((x) => this.node('Slice', [x, this.int64([0]), end, this.int64([1])]));
  }
  /** An If on "table has one row": then the op broadcasts the single table row (no per-row copy), else it gathers. */
  gatherCombine(op: GatherCombineOp, table: OnnxValue, indices: OnnxValue, b: OnnxValue): OnnxValue {
    const opType = { matmul: 'MatMul', add: 'Add', mul: 'Mul' }[op];
    const rows = this.node('Shape', [table], [intAttr('start', 0), intAttr('end', 1)]);
    const single = this.node('Equal', [rows, this.int64([1])]);
    const id = this.counter++;
    const broadcast = `gather_${op}_${id}_single`;
    const gathered = `gather_${op}_${id}_rows`;
    const branch = (name: string, nodes: onnx.INodeProto[], out: string): onnx.IAttributeProto => ({
      name,
      type: ATTR.GRAPH,
      g: { name: `${name}_${id}`, node: nodes, output: [{ name: out, type: { tensorType: { elemType: ELEM.float32 } } }] },
    });
    const thenBranch = branch('then_branch', [{ opType, name: broadcast, input: [table.onnxName, b.onnxName], output: [broadcast] }], broadcast);
    const elseBranch = branch(
      'else_branch',
      [
        { opType: 'Gather', name: `${gathered}_g`, input: [table.onnxName, indices.onnxName], output: [`${gathered}_g`], attribute: [intAttr('axis', 0)] },
        { opType, name: gathered, input: [`${gathered}_g`, b.onnxName], output: [gathered] },
      ],
      gathered,
    );
    return this.node('If', [single], [thenBranch, elseBranch]);
  }
  /** ONNX Runtime's fused MultiHeadAttention (contrib domain) with an int32 key padding mask. */
  attention(q: OnnxValue, k: OnnxValue, v: OnnxValue, bias: OnnxValue, keyMask: OnnxValue, heads: number): OnnxValue {
    this.usesContrib = true;
    const mask = this.node('Cast', [keyMask], [intAttr('to', onnx.TensorProto.DataType.INT32)]);
    return this.node('MultiHeadAttention', [q, k, v, bias, mask], [intAttr('num_heads', heads), floatAttr('mask_filter_value', MASK_NEGATIVE)], CONTRIB_DOMAIN);
  }

  private node(opType: string, inputs: readonly OnnxValue[], attribute: onnx.IAttributeProto[] = [], domain = ''): OnnxValue {
    const out = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, name: out, input: inputs.map((v) => v.onnxName), output: [out], attribute, ...(domain ? { domain } : {}) });
    return { onnxName: out };
  }

  private int64(values: readonly number[]): OnnxValue {
    const key = `i:${values.join(',')}`;
    let v = this.constants.get(key);
    if (!v) {
      const name = `const_${this.counter++}`;
      const data = BigInt64Array.from(values.map((n) => BigInt(n)));
      this.initializers.push({
        name,
        dims: [values.length],
        dataType: ELEM.int64,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      });
      v = { onnxName: name };
      this.constants.set(key, v);
    }
    return v;
  }
}

function floatTensor(name: string, shape: readonly number[], data: Float32Array): onnx.ITensorProto {
  const copy = Float32Array.from(data);
  return { name, dims: [...shape], dataType: ELEM.float32, rawData: new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength) };
}

function valueInfo(spec: OnnxIoSpec): onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ELEM[spec.dtype],
        shape: { dim: spec.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function intAttr(name: string, i: number): onnx.IAttributeProto {
  return { name, type: ATTR.INT, i };
}

function floatAttr(name: string, f: number): onnx.IAttributeProto {
  return { name, type: ATTR.FLOAT, f };
}

function intsAttr(name: string, ints: readonly number[]): onnx.IAttributeProto {
  return { name, type: ATTR.INTS, ints: [...ints] };
}
