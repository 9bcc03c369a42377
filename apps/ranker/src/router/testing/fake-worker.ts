import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GRPCInferenceServiceService, ModelInferResponse, type ModelInferRequest } from '@pinrank/proto';
import { defineService, PinrankError, startServer, type RunningServer } from '@pinrank/service-kit';
import { pino } from 'pino';

/** Width of `encoded` in the test models (the contract's 1056). */
export const ENCODED = 1056;
/** Heads of the test models, in output order. */
export const HEADS = ['save', 'click', 'hide'];

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The deterministic stand-in for the models, shared by the fake worker and
 * the tests' expectations. encoder: row i = [cand_i (32), valid rows of its
 * user, 0...]; heads: save = σ(user·item), click = σ(Σcand + 0.1·valid), hide = σ(dense0 − 1);
 * lite: save as heads, click 0.5, hide as heads.
 */
export const reference = {
  heads(encodedRow: Float32Array, user: Float32Array, item: Float32Array, dense0: number): number[] {
    let ui = 0;
    for (let j = 0; j < 64; j++) ui += (user[j] ?? 0) * (item[j] ?? 0);
    let c = 0;
    for (let j = 0; j < 32; j++) c += encodedRow[j] ?? 0;
    return [sigmoid(ui), sigmoid(c + 0.1 * (encodedRow[32] ?? 0)), sigmoid(dense0 - 1)];
  },
  lite(user: Float32Array, item: Float32Array, dense0: number): number[] {
    let ui = 0;
    for (let j = 0; j < 64; j++) ui += (user[j] ?? 0) * (item[j] ?? 0);
    return [sigmoid(ui), 0.5, sigmoid(dense0 - 1)];
  },
};

type Decoded = { dims: number[]; f32?: Float32Array; i64?: BigInt64Array };

function decode(req: ModelInferRequest): Map<string, Decoded> {
  if (req.rawInputContents.length !== req.inputs.length) throw new PinrankError('INVALID_ARGUMENT', 'test worker: raw contents expected for every input');
  const out = new Map<string, Decoded>();
  req.inputs.forEach((t, i) => {
    const bytes = req.rawInputContents[i] ?? Buffer.alloc(0);
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    if (t.datatype === 'FP32') out.set(t.name, { dims: t.shape, f32: new Float32Array(copy.buffer) });
    else if (t.datatype === 'INT64') out.set(t.name, { dims: t.shape, i64: new BigInt64Array(copy.buffer) });
    else throw new PinrankError('INVALID_ARGUMENT', `test worker: datatype ${t.datatype}`);
  });
  return out;
}

function need(m: Map<string, Decoded>, name: string, dims: number[], kind: 'f32'): Float32Array;
function need(m: Map<string, Decoded>, name: string, dims: number[], kind: 'i64'): BigInt64Array;
function need(m: Map<string, Decoded>, name: string, dims: number[], kind: 'f32' | 'i64'): Float32Array | BigInt64Array {
  const t = m.get(name);
  const data = t?.[kind];
  const ok = t && t.dims.length === dims.length && dims.every((d, i) => d < 0 || t.dims[i] === d);
  if (!ok || !data) throw new PinrankError('INVALID_ARGUMENT', `test worker: input ${name} has shape [${t?.dims.join(',')}], expected [${dims.join(',')}] ${kind}`);
  return data;
}

/** One call a fake worker served. */
export interface ServedCall {
  model: string;
  version: string;
  shapes: Record<string, number[]>;
  rawBytes: number;
}

/** Starts a real OIP gRPC server that computes {@link reference} and records the calls it served. */
export async function startFakeWorker(name: string, options: { delayMs?: number } = {}): Promise<{ server: RunningServer; calls: ServedCall[]; address: string }> {
  const calls: ServedCall[] = [];
  const reg = defineService(GRPCInferenceServiceService, {
    modelInfer: async (req: ModelInferRequest) => {
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs).unref());
      const m = decode(req);
      calls.push({
        model: req.modelName,
        version: req.modelVersion,
        shapes: Object.fromEntries([...m.entries()].map(([k, v]) => [k, v.dims])),
        rawBytes: req.rawInputContents.reduce((a, b) => a + b.length, 0),
      });
      let rows: number;
      let cols: number;
      let data: Float32Array;
      if (req.modelName === 'transact_encoder') {
        const U = m.get('seq_action_types')?.dims[0] ?? 0;
        const S = m.get('seq_action_types')?.dims[1] ?? 0;
        const types = need(m, 'seq_action_types', [U, S], 'i64');
        need(m, 'seq_item_vectors', [U, S, 32], 'f32');
        need(m, 'seq_ages_s', [U, S], 'f32');
        rows = m.get('cand_vectors')?.dims[0] ?? 0;
        const cand = need(m, 'cand_vectors', [rows, 32], 'f32');
        const idx = need(m, 'cand_user_idx', [rows], 'i64');
        cols = ENCODED;
        data = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          const u = Number(idx[i]);
          if (u < 0 || u >= U) throw new PinrankError('INVALID_ARGUMENT', `test worker: cand_user_idx ${u} outside [0,${U})`);
          data.set(cand.subarray(i * 32, (i + 1) * 32), i * cols);
          let valid = 0;
          for (let s = 0; s < S; s++) if (types[u * S + s] !== 0n) valid++;
          data[i * cols + 32] = valid;
        }
      } else if (req.modelName === 'ranking_heads' || req.modelName === 'ranking_heads_lite') {
        const lite = req.modelName === 'ranking_heads_lite';
        rows = m.get('user_pf')?.dims[0] ?? 0;
        const user = need(m, 'user_pf', [rows, 64], 'f32');
        const item = need(m, 'item_pf', [rows, 64], 'f32');
        const dense = need(m, 'dense_features', [rows, 4], 'f32');
        const enc = lite ? undefined : need(m, 'encoded', [rows, ENCODED], 'f32');
        cols = HEADS.length;
        data = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          const u = user.subarray(i * 64, (i + 1) * 64);
          const it = item.subarray(i * 64, (i + 1) * 64);
          const d0 = dense[i * 4] ?? 0;
          const p = enc ? reference.heads(enc.subarray(i * ENCODED, (i + 1) * ENCODED), u, it, d0) : reference.lite(u, it, d0);
          data.set(p, i * cols);
        }
      } else {
        throw new PinrankError('NOT_FOUND', `test worker: no model ${req.modelName}`);
      }
      const output = req.modelName === 'transact_encoder' ? 'encoded' : 'probs';
      return ModelInferResponse.fromPartial({
        modelName: req.modelName,
        modelVersion: req.modelVersion || '1',
        id: req.id,
        outputs: [{ name: output, datatype: 'FP32', shape: [rows, cols] }],
        rawOutputContents: [Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
      });
    },
  });
  const server = await startServer({ name, address: '127.0.0.1:0', services: [reg], signals: [], logger: pino({ level: 'silent' }) });
  return { server, calls, address: `127.0.0.1:${server.port}` };
}

/** Writes `config.json` of the three test models (version 1) under `repo`; the heads name PinnerFormer `pinnerformerVersion`. */
export async function writeTestModelConfigs(repo: string, pinnerformerVersion: string): Promise<void> {
  const batching = { mode: 'concat', maxBatchSize: 1024, maxQueueDelayMs: 2, queueLimit: 64 };
  const f = (name: string, shape: number[]): { name: string; dtype: string; shape: number[] } => ({ name, dtype: 'float32', shape });
  const i = (name: string, shape: number[]): { name: string; dtype: string; shape: number[] } => ({ name, dtype: 'int64', shape });
  const configs = [
    {
      name: 'transact_encoder',
      placement: 'gpu',
      executionProviders: ['webgpu', 'cpu'],
      inputs: [i('seq_action_types', [-1, -1]), f('seq_item_vectors', [-1, -1, 32]), f('seq_ages_s', [-1, -1]), f('cand_vectors', [-1, 32]), i('cand_user_idx', [-1])],
      outputs: [f('encoded', [-1, ENCODED])],
      batching: { mode: 'user_rows', maxBatchSize: 1024, maxQueueDelayMs: 2, queueLimit: 64, userInputs: ['seq_action_types', 'seq_item_vectors', 'seq_ages_s'], indexInput: 'cand_user_idx' },
      pinnerformerVersion,
    },
    {
      name: 'ranking_heads',
      placement: 'cpu',
      executionProviders: ['cpu'],
      inputs: [f('encoded', [-1, ENCODED]), f('user_pf', [-1, 64]), f('item_pf', [-1, 64]), f('dense_features', [-1, 4])],
      outputs: [f('probs', [-1, HEADS.length])],
      batching,
      heads: HEADS,
      pinnerformerVersion,
    },
    {
      name: 'ranking_heads_lite',
      placement: 'cpu',
      executionProviders: ['cpu'],
      inputs: [f('user_pf', [-1, 64]), f('item_pf', [-1, 64]), f('dense_features', [-1, 4])],
      outputs: [f('probs', [-1, HEADS.length])],
      batching,
      heads: HEADS,
      pinnerformerVersion,
    },
  ];
  for (const c of configs) {
    const dir = join(repo, c.name, '1');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ version: '1', platform: 'onnxruntime_onnx', ...c }, null, 2));
  }
}
