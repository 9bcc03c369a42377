import { type BatchCompute } from './dynamic-batcher';
import { type StackingLayout } from './batch-stacking';
import { allocateData, type HostTensor, type TensorMap } from './host-tensor';

/**
 * Wraps a `user_rows` model's compute so that a batch runs as one call per
 * user row with at most `maxRows` candidate rows each, the outputs put back in
 * the batch's row order. On a CPU a call's cost is the candidates' compute
 * (per-call overhead is under a millisecond) and a call whose intermediates
 * fit in cache is cheaper per row than a large one; a one-user call also lets
 * a model broadcast the user's tensors instead of gathering them per
 * candidate (transact_encoder's split form). So stacked users run exactly as
 * they would alone, and a large single request runs in cache-sized pieces.
 * Other layouts, and batches that are already one user row of at most
 * `maxRows` candidates, go to `compute` unchanged.
 */
export function perUserCompute(compute: BatchCompute, layout: StackingLayout, maxRows: number): BatchCompute {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new TypeError(`perUserCompute: maxRows must be an integer >= 1, got ${maxRows}`);
  const indexName = layout.indexInput;
  if (layout.mode !== 'user_rows' || indexName === undefined) return compute;
  return async (inputs) => {
    const index = inputs[indexName];
    const userName = layout.userInputs.find((name) => inputs[name] !== undefined);
    if (!index || userName === undefined) return compute(inputs);
    const users = inputs[userName]!.dims[0]!;
    const n = index.dims[0]!;
    if (n === 0 || (users === 1 && n <= maxRows)) return compute(inputs);
    const chunks = chunkRows(index, users, maxRows);
    if (!chunks) return compute(inputs); // an index out of range: let the model report it
    const parts: TensorMap[] = [];
    for (const chunk of chunks) parts.push(await compute(chunkInputs(inputs, layout, indexName, chunk)));
    return reassemble(parts, chunks, n);
  };
}

/** One call: a user row and (a slice of) its candidate rows, in batch order. */
interface Chunk {
  user: number;
  rows: number[];
}

function chunkRows(index: HostTensor, users: number, maxRows: number): Chunk[] | undefined {
  const byUser: number[][] = Array.from({ length: users }, () => []);
  for (let k = 0; k < index.dims[0]!; k++) {
    const rows = byUser[Number(index.data[k])];
    if (!rows) return undefined;
    rows.push(k);
  }
  const chunks: Chunk[] = [];
  byUser.forEach((rows, user) => {
    for (let at = 0; at < rows.length; at += maxRows) chunks.push({ user, rows: rows.slice(at, at + maxRows) });
  });
  return chunks;
}

function chunkInputs(inputs: TensorMap, layout: StackingLayout, indexName: string, chunk: Chunk): TensorMap {
  const out: TensorMap = {};
  for (const [name, t] of Object.entries(inputs)) {
    if (name === indexName) out[name] = { dtype: t.dtype, dims: [chunk.rows.length], data: allocateData(t.dtype, chunk.rows.length) };
    else out[name] = pickRows(t, layout.userInputs.includes(name) ? [chunk.user] : chunk.rows);
  }
  return out;
}

/** The rows as a tensor: a view when they are consecutive (the usual stacked batch), else a copy. */
function pickRows(t: HostTensor, rows: readonly number[]): HostTensor {
  const width = rowWidth(t);
  const first = rows[0] ?? 0;
  if (rows.every((r, i) => r === first + i)) {
    return { dtype: t.dtype, dims: [rows.length, ...t.dims.slice(1)], data: t.data.subarray(first * width, (first + rows.length) * width) };
  }
  const data = allocateData(t.dtype, rows.length * width);
  rows.forEach((r, i) => (data as Float32Array).set((t.data as Float32Array).subarray(r * width, (r + 1) * width), i * width));
  return { dtype: t.dtype, dims: [rows.length, ...t.dims.slice(1)], data };
}

function reassemble(parts: readonly TensorMap[], chunks: readonly Chunk[], n: number): TensorMap {
  const out: TensorMap = {};
  for (const name of Object.keys(parts[0] ?? {})) {
    const first = parts[0]![name]!;
    const width = rowWidth(first);
    const data = allocateData(first.dtype, n * width);
    parts.forEach((part, c) => {
      const src = part[name]!.data as Float32Array;
      chunks[c]!.rows.forEach((r, i) => (data as Float32Array).set(src.subarray(i * width, (i + 1) * width), r * width));
    });
    out[name] = { dtype: first.dtype, dims: [n, ...first.dims.slice(1)], data };
  }
  return out;
}

function rowWidth(t: HostTensor): number {
  return t.dims.slice(1).reduce((a, b) => a * b, 1);
}
