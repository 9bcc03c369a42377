import { readFile, writeFile } from 'node:fs/promises';
import { type WeightStore, type WeightTensor } from './weight-store';

/** The eight bytes every weights file starts with. */
export const WEIGHTS_MAGIC = 'PRWEIGHT';
/** Version of the weights file layout written by this library. */
export const WEIGHTS_FORMAT = 1;

/** What a weights file says about itself (its JSON header). */
export interface WeightsHeader {
  format: 1;
  /** The model these weights belong to (`transact_encoder`, ...). */
  model: string;
  /** The model's hyperparameters: the weights fix the architecture. */
  hyperparams: Record<string, unknown>;
  /** Free-form provenance (training run, data, step). */
  source: Record<string, unknown>;
  tensors: Array<{ name: string; shape: number[]; offset: number }>;
}

/** A decoded weights file. */
export interface WeightsFile {
  header: WeightsHeader;
  tensors: Array<[string, WeightTensor]>;
}

/**
 * Encodes weights into the one format both backends load:
 * `PRWEIGHT` | uint32 LE header length | JSON header | zero padding to a
 * multiple of 4 | float32 LE data; each tensor's `offset` is in bytes from the
 * start of the data section, row-major.
 */
export function encodeWeights(
  model: string,
  hyperparams: Record<string, unknown>,
  store: WeightStore,
  source: Record<string, unknown> = {},
): Uint8Array {
  const tensors: WeightsHeader['tensors'] = [];
  let offset = 0;
  for (const [name, t] of store.entries()) {
    tensors.push({ name, shape: t.shape, offset });
    offset += t.data.length * 4;
  }
  const header: WeightsHeader = { format: WEIGHTS_FORMAT, model, hyperparams, source, tensors };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align4(12 + headerBytes.length);
  const out = Buffer.alloc(dataStart + offset);
  out.write(WEIGHTS_MAGIC, 0, 'ascii');
  out.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(out, 12);
  let pos = dataStart;
  for (const [, t] of store.entries()) {
    for (let i = 0; i < t.data.length; i++, pos += 4) out.writeFloatLE(t.data[i]!, pos);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Decodes a weights file. Thrown by: a wrong magic, header or a data section that is too short or holds non-finite values. */
export function decodeWeights(bytes: Uint8Array, source = 'weights'): WeightsFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 8) !== WEIGHTS_MAGIC)
    throw new Error(`${source}: not a pinrank weights file (missing ${WEIGHTS_MAGIC} magic)`);
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.length) throw new Error(`${source}: header length ${headerLength} runs past the end of the file`);
  let header: WeightsHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + headerLength)) as WeightsHeader;
  } catch (cause) {
    throw new Error(`${source}: header is not valid JSON`, { cause });
  }
  if (header.format !== WEIGHTS_FORMAT) throw new Error(`${source}: format ${String(header.format)} is not supported (expected ${WEIGHTS_FORMAT})`);
  if (typeof header.model !== 'string' || !Array.isArray(header.tensors))
    throw new Error(`${source}: header needs "model" and "tensors"`);
  const dataStart = align4(12 + headerLength);
  const tensors: Array<[string, WeightTensor]> = [];
  for (const spec of header.tensors) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const start = dataStart + spec.offset;
    if (spec.offset % 4 !== 0 || start + size * 4 > buf.length)
      throw new Error(`${source}: tensor "${spec.name}" lies outside the data section`);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = buf.readFloatLE(start + i * 4);
      if (!Number.isFinite(v)) throw new Error(`${source}: tensor "${spec.name}" holds a non-finite value at ${i}`);
      data[i] = v;
    }
    tensors.push([spec.name, { shape: spec.shape, data }]);
  }
  return { header, tensors };
}

/** Writes a weights file (see `encodeWeights`). */
export async function saveWeights(
  path: string,
  model: string,
  hyperparams: Record<string, unknown>,
  store: WeightStore,
  source: Record<string, unknown> = {},
): Promise<void> {
  await writeFile(path, encodeWeights(model, hyperparams, store, source));
}

/** Reads a weights file (see `decodeWeights`). */
export async function loadWeights(path: string): Promise<WeightsFile> {
  return decodeWeights(await readFile(path), path);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
