import { PinrankError } from '@pinrank/service-kit';
import { allocateData, type HostTensor, type TensorMap } from './host-tensor';

/** How requests are stacked into one batch (the model config's `batching.mode`). */
export type StackingMode = 'none' | 'concat' | 'user_rows';

/** The stacking rule of one model. */
export interface StackingLayout {
  mode: StackingMode;
  /** user_rows: inputs whose axis 0 is the request's users (concatenated as user rows). */
  userInputs: readonly string[];
  /** user_rows: the int64 input naming each candidate row's user; offset by prior user rows when stacking. */
  indexInput?: string | undefined;
}

const invalid = (message: string): PinrankError => new PinrankError('INVALID_ARGUMENT', message);

/**
 * The number of output rows a request produces (axis 0 of every output):
 * candidate rows for user_rows, axis 0 of the inputs otherwise. Also checks
 * that the request can be stacked and split back. Thrown by: inputs that
 * disagree on axis 0, or user indices out of range — as INVALID_ARGUMENT.
 */
export function requestRows(inputs: TensorMap, layout: StackingLayout): number {
  const entries = Object.entries(inputs);
  if (entries.length === 0) throw invalid('the request has no inputs');
  for (const [name, t] of entries) if (t.dims.length === 0) throw invalid(`input "${name}" is a scalar; batched models need axis 0`);
  if (layout.mode === 'none') return entries[0]![1].dims[0]!;
  if (layout.mode === 'concat') {
    const rows = entries[0]![1].dims[0]!;
    for (const [name, t] of entries) {
      if (t.dims[0] !== rows) throw invalid(`input "${name}" has ${t.dims[0]} rows on axis 0, input "${entries[0]![0]}" has ${rows}; all inputs must agree`);
    }
    return rows;
  }
  const indexName = layout.indexInput ?? '';
  const index = inputs[indexName];
  if (!index) throw invalid(`input "${indexName}" is missing`);
  if (index.dims.length !== 1) throw invalid(`input "${indexName}" must be 1-D [N], got [${index.dims.join(',')}]`);
  const n = index.dims[0]!;
  let users = -1;
  for (const [name, t] of entries) {
    if (name === indexName) continue;
    if (layout.userInputs.includes(name)) {
      if (users === -1) users = t.dims[0]!;
      else if (t.dims[0] !== users) throw invalid(`user input "${name}" has ${t.dims[0]} user rows, other user inputs have ${users}`);
    } else if (t.dims[0] !== n) {
      throw invalid(`input "${name}" has ${t.dims[0]} rows on axis 0; "${indexName}" names ${n} rows`);
    }
  }
  for (let k = 0; k < n; k++) {
    const u = Number(index.data[k]);
    if (!Number.isInteger(u) || u < 0 || u >= users) {
      throw invalid(`input "${indexName}"[${k}] = ${u}; it must name a user row in [0, ${users})`);
    }
  }
  return n;
}

/** Requests stack together only when every input agrees on dtype and all axes after 0. */
export function stackKey(inputs: TensorMap): string {
  return Object.keys(inputs)
    .sort()
    .map((name) => {
      const t = inputs[name]!;
      return `${name}:${t.dtype}:${t.dims.slice(1).join('x')}`;
    })
    .join('|');
}

/** Stacks requests (same stack key) into one set of inputs, following the layout. */
export function stackInputs(requests: readonly TensorMap[], layout: StackingLayout): TensorMap {
  const first = requests[0];
  if (!first) throw new TypeError('stackInputs: no requests');
  if (requests.length === 1) return first;
  const out: TensorMap = {};
  for (const name of Object.keys(first)) {
    const parts = requests.map((r) => r[name]!);
    out[name] = concatAxis0(parts);
  }
  if (layout.mode === 'user_rows' && layout.indexInput) {
    const userName = layout.userInputs.find((n) => first[n] !== undefined);
    const index = out[layout.indexInput]!;
    let userOffset = 0;
    let row = 0;
    for (const r of requests) {
      const n = r[layout.indexInput]!.dims[0]!;
      if (userOffset > 0) addOffset(index, row, n, userOffset);
      row += n;
      userOffset += userName ? r[userName]!.dims[0]! : 0;
    }
  }
  return out;
}

function addOffset(t: HostTensor, from: number, count: number, offset: number): void {
  const data = t.data;
  if (data instanceof BigInt64Array) {
    const big = BigInt(offset);
    for (let k = from; k < from + count; k++) data[k] = data[k]! + big;
  } else {
    for (let k = from; k < from + count; k++) data[k] = (data[k] as number) + offset;
  }
}

/** Concatenates tensors of one dtype and equal trailing dims along axis 0 (always a fresh copy). */
export function concatAxis0(parts: readonly HostTensor[]): HostTensor {
  const first = parts[0];
  if (!first) throw new TypeError('concatAxis0: no tensors');
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    rows += p.dims[0]!;
    length += p.data.length;
  }
  const data = allocateData(first.dtype, length);
  let at = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { dtype: first.dtype, dims: [rows, ...first.dims.slice(1)], data };
}

/**
 * Splits a batch's outputs back per request along axis 0, `rows[i]` rows each.
 * Thrown by: an output whose axis 0 is not the batch's total rows (the model
 * cannot be batched this way) — as INTERNAL.
 */
export function splitOutputs(outputs: TensorMap, rows: readonly number[]): TensorMap[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const result: TensorMap[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (rows.length === 1) {
      result[0]![name] = t;
      continue;
    }
    if (t.dims[0] !== total) {
      throw new PinrankError('INTERNAL', `output "${name}" has ${t.dims[0]} rows on axis 0; the batch has ${total}, so it cannot be split per request`);
    }
    const perRow = t.dims[0] === 0 ? 0 : t.data.length / total;
    let row = 0;
    rows.forEach((n, i) => {
      const data = t.data.slice(row * perRow, (row + n) * perRow);
      result[i]![name] = { dtype: t.dtype, dims: [n, ...t.dims.slice(1)], data };
      row += n;
    });
  }
  return result;
}
