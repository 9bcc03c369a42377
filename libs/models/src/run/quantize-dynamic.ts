import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { InferenceSession } from 'onnxruntime-node';
import { CONTRIB_DOMAIN } from '../ops/onnx-ops';

/** What `quantizeDynamic` changed. */
export interface QuantizedModel {
  model: Uint8Array;
  /** The weights now stored as int8 (one per rewritten product). */
  quantized: string[];
}

/** Options of `quantizeDynamic`. */
export interface QuantizeDynamicOptions {
  /** Leave weights with fewer elements than this in float32. Default 1024. */
  minElements?: number;
  /** Only products whose (folded) weight name passes this test. Default all. */
  include?: (weight: string) => boolean;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT8 = onnx.TensorProto.DataType.INT8;

/**
 * Dynamic int8 quantisation of an emitted model's constant-weight matrix
 * products, written here because the usual tool (onnxruntime's Python
 * `quantize_dynamic`) is not available to this repository. ONNX Runtime first
 * folds the graph's constant subexpressions (level "basic", so derived weights
 * such as slices and folded biases become initializers); then every MatMul or
 * Gemm (no transposes, alpha = beta = 1) whose second input is a rank-2 float
 * initializer becomes com.microsoft DynamicQuantizeMatMul: the weight
 * symmetric int8 per output column, the activation quantised per call to
 * uint8 by the kernel. A Gemm's bias becomes the op's bias; a full-size addend
 * (a residual) becomes an Add. The function changes: measure its error
 * (`pinrank train encoder-agreement`) before serving it.
 */
export async function quantizeDynamic(model: Uint8Array, options: QuantizeDynamicOptions = {}): Promise<QuantizedModel> {
  const minElements = options.minElements ?? 1024;
  const folded = onnx.ModelProto.decode(await foldConstants(model));
  const graph = folded.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const quantized: string[] = [];
  const nodes: onnx.INodeProto[] = [];
  for (const node of graph.node ?? []) {
    const weight = initializers.get(node.input?.[1] ?? '');
    const wanted = weight !== undefined && (options.include?.(weight.name ?? '') ?? true);
    if (!isPlainProduct(node) || !weight || !wanted || weight.dataType !== FLOAT || (weight.dims ?? []).length !== 2 || elementCount(weight) < minElements) {
      nodes.push(node);
      continue;
    }
    const name = weight.name!;
    if (!initializers.has(`${name}_int8`)) {
      const { values, scales } = quantizeColumns(floatData(weight), Number(weight.dims![0]), Number(weight.dims![1]));
      graph.initializer!.push(
        { name: `${name}_int8`, dims: weight.dims, dataType: INT8, rawData: new Uint8Array(values.buffer) },
        { name: `${name}_scale`, dims: [scales.length], dataType: FLOAT, rawData: new Uint8Array(scales.buffer) },
      );
      initializers.set(`${name}_int8`, graph.initializer!.at(-2)!);
      quantized.push(name);
    }
    const out = node.output![0]!;
    const addend = node.opType === 'Gemm' ? node.input?.[2] : undefined;
    const addendInit = addend ? initializers.get(addend) : undefined;
    const bias = addendInit && (addendInit.dims ?? []).length === 1 ? addend : undefined;
    const product = addend && !bias ? `${out}_product` : out;
    nodes.push({
      opType: 'DynamicQuantizeMatMul',
      domain: CONTRIB_DOMAIN,
      name: `${node.name ?? out}_int8`,
      input: [node.input![0]!, `${name}_int8`, `${name}_scale`, ...(bias ? ['', bias] : [])],
      output: [product],
    });
    if (addend && !bias) nodes.push({ opType: 'Add', name: `${node.name ?? out}_addend`, input: [product, addend], output: [out] });
  }
  graph.node = nodes;
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  const imports = (folded.opsetImport ?? []).filter((o) => (o.domain ?? '') !== CONTRIB_DOMAIN);
  folded.opsetImport = [...imports, { domain: CONTRIB_DOMAIN, version: 1 }];
  return { model: onnx.ModelProto.encode(folded).finish(), quantized };
}

/** The model after ONNX Runtime's basic (portable) graph optimisations, constant folding among them. */
async function foldConstants(model: Uint8Array): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'pinrank-fold-'));
  try {
    const path = join(dir, 'folded.onnx');
    const session = await InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'basic', optimizedModelFilePath: path });
    await session.release();
    return await readFile(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isPlainProduct(node: onnx.INodeProto): boolean {
  if (node.opType === 'MatMul') return (node.domain ?? '') === '';
  if (node.opType !== 'Gemm') return false;
  const attr = (name: string): onnx.IAttributeProto | undefined => node.attribute?.find((a) => a.name === name);
  const int = (name: string, fallback: number): number => Number(attr(name)?.i ?? fallback);
  const float = (name: string): number => attr(name)?.f ?? 1;
  return int('transA', 0) === 0 && int('transB', 0) === 0 && float('alpha') === 1 && float('beta') === 1;
}

function elementCount(t: onnx.ITensorProto): number {
  return (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
}

function floatData(t: onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.byteLength > 0) {
    const bytes = Uint8Array.from(t.rawData);
    return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

/** Symmetric int8 per column: w ≈ q · scale[column], q in [−127, 127]. */
function quantizeColumns(w: Float32Array, rows: number, cols: number): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    let max = 0;
    for (let r = 0; r < rows; r++) max = Math.max(max, Math.abs(w[r * cols + c]!));
    scales[c] = max > 0 ? max / 127 : 1;
  }
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[r * cols + c] = Math.round(w[r * cols + c]! / scales[c]!);
  return { values, scales };
}
