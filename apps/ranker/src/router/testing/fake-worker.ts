import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GRPCInferenceServiceService, ModelInferResponse, ModelStreamInferResponse, type ModelInferRequest, type ModelMetadataRequest, type ModelReadyRequest } from '@pinrank/proto';
import {
  decodeInferInputs,
  encodeInferOutputs,
  FIRST_VERSION_PARAM,
  requestDeadline,
  requestTimeoutMs,
  RunSlots,
  STREAM_MAX_INFLIGHT,
  STREAM_READ_AHEAD,
  StreamCancels,
  THEN_MODEL_PARAM,
  type HostTensor,
  type TensorMap,
} from '@pinrank/inference';
import { answerConcurrently, defineService, PinrankError, startServer, untilDraining, type CallContext, type CallRuntime, type ErrorCode, type RunningServer } from '@pinrank/service-kit';
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

/** Reads input `name` as the fake model needs it. Thrown by: another dtype or shape (-1: any) — INVALID_ARGUMENT. */
function need(m: TensorMap, name: string, dims: number[], dtype: 'float32'): Float32Array;
function need(m: TensorMap, name: string, dims: number[], dtype: 'int64'): BigInt64Array;
function need(m: TensorMap, name: string, dims: number[], dtype: 'float32' | 'int64'): Float32Array | BigInt64Array {
  const t = m[name];
  const ok = t && t.dtype === dtype && t.dims.length === dims.length && dims.every((d, i) => d < 0 || t.dims[i] === d);
  if (!ok) throw new PinrankError('INVALID_ARGUMENT', `test worker: input ${name} has shape [${t?.dims.join(',')}], expected [${dims.join(',')}] ${dtype}`);
  return t.data as Float32Array | BigInt64Array;
}

/**
 * What the fake models compute for `inputs` ({@link reference}): the output's
 * name and tensor. Shared by the fake gRPC worker and in-process test inference.
 * Thrown by: an unknown model — NOT_FOUND; inputs the model does not take — INVALID_ARGUMENT.
 */
export function computeReference(modelName: string, m: TensorMap): { name: string; tensor: HostTensor } {
  if (modelName === 'transact_encoder') {
    const U = m['seq_action_types']?.dims[0] ?? 0;
    const S = m['seq_action_types']?.dims[1] ?? 0;
    const types = need(m, 'seq_action_types', [U, S], 'int64');
    need(m, 'seq_item_vectors', [U, S, 32], 'float32');
    need(m, 'seq_ages_s', [U, S], 'float32');
    const rows = m['cand_vectors']?.dims[0] ?? 0;
    const cand = need(m, 'cand_vectors', [rows, 32], 'float32');
    const idx = need(m, 'cand_user_idx', [rows], 'int64');
    const data = new Float32Array(rows * ENCODED);
    for (let i = 0; i < rows; i++) {
      const u = Number(idx[i]);
      if (u < 0 || u >= U) throw new PinrankError('INVALID_ARGUMENT', `test worker: cand_user_idx ${u} outside [0,${U})`);
      data.set(cand.subarray(i * 32, (i + 1) * 32), i * ENCODED);
      let valid = 0;
      for (let s = 0; s < S; s++) if (types[u * S + s] !== 0n) valid++;
      data[i * ENCODED + 32] = valid;
    }
    return { name: 'encoded', tensor: { dtype: 'float32', dims: [rows, ENCODED], data } };
  }
  if (modelName === 'ranking_heads' || modelName === 'ranking_heads_lite') {
    const lite = modelName === 'ranking_heads_lite';
    const rows = m['user_pf']?.dims[0] ?? 0;
    const user = need(m, 'user_pf', [rows, 64], 'float32');
    const item = need(m, 'item_pf', [rows, 64], 'float32');
    const dense = need(m, 'dense_features', [rows, 4], 'float32');
    const enc = lite ? undefined : need(m, 'encoded', [rows, ENCODED], 'float32');
    const cols = HEADS.length;
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const u = user.subarray(i * 64, (i + 1) * 64);
      const it = item.subarray(i * 64, (i + 1) * 64);
      const d0 = dense[i * 4] ?? 0;
      data.set(enc ? reference.heads(enc.subarray(i * ENCODED, (i + 1) * ENCODED), u, it, d0) : reference.lite(u, it, d0), i * cols);
    }
    return { name: 'probs', tensor: { dtype: 'float32', dims: [rows, cols], data } };
  }
  throw new PinrankError('NOT_FOUND', `test worker: no model ${modelName}`);
}

/** One call a fake worker received (also those it was told to fail). */
export interface ServedCall {
  model: string;
  /** The model chained after `model` in the same call, if any. */
  then?: string;
  version: string;
  shapes: Record<string, number[]>;
  rawBytes: number;
  /** How it came: a unary ModelInfer, or a message of ModelStreamInfer. */
  via: 'unary' | 'stream';
  /** Its own `timeout` parameter, in ms (streamed messages carry one). */
  timeoutMs: number | undefined;
}

/** How a fake worker behaves; tests may change it while the worker runs. */
export interface FakeWorkerBehaviour {
  /** Delay before answering (a slow or hung worker). */
  delayMs?: number;
  /** Answer every ModelInfer with this status instead (a worker that is overloaded, missing the model, failing...). */
  failWith?: ErrorCode;
  /** With failWith: fail only this many more calls (then answer normally); default every call. */
  failCount?: number;
  /**
   * Serve one call at a time, each taking this long (a worker with a fixed
   * capacity that costs no CPU): calls wait in a queue of `queueLimit`, and one
   * that is refused at once (RESOURCE_EXHAUSTED) when the queue is full or its
   * deadline is shorter than the wait, as the real batcher does.
   */
  serviceMs?: number;
  /** Calls that may wait with serviceMs; default 16. */
  queueLimit?: number;
  /** Answer ModelMetadata with this platform (e.g. "onnxruntime_onnx/cpu") and ModelReady; without it both are UNIMPLEMENTED. */
  platform?: string;
  /** With platform: the models ModelReady says are ready; default all three. */
  readyModels?: string[];
  /** Serve ModelStreamInfer (default true); false answers it UNIMPLEMENTED, as a worker without the stream would. */
  streams?: boolean;
}

/** One call at a time, each `serviceMs` long, behind a bounded queue that refuses at once what it cannot take. */
class SerialServer {
  private busyUntil = 0;
  private waiting = 0;

  constructor(private readonly name: string) {}

  /** Waits for this call's turn and its service time. Thrown by: a full queue or a deadline shorter than the wait — RESOURCE_EXHAUSTED. */
  async take(serviceMs: number, queueLimit: number, deadline: Date | undefined): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.busyUntil);
    if (start > now && this.waiting >= queueLimit) throw new PinrankError('RESOURCE_EXHAUSTED', `test worker ${this.name}: queue full (${this.waiting} of ${queueLimit} waiting)`);
    if (deadline && start + serviceMs > deadline.getTime()) throw new PinrankError('RESOURCE_EXHAUSTED', `test worker ${this.name}: cannot meet the deadline`);
    this.busyUntil = start + serviceMs;
    this.waiting++;
    await new Promise((r) => setTimeout(r, start + serviceMs - now).unref());
    this.waiting--;
  }
}

/** A wait of `ms` that ends early, CANCELLED, when `signal` aborts. */
function cancellableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = (): void => {
      clearTimeout(timer);
      reject(new PinrankError('CANCELLED', 'test worker: request cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', cancelled);
      resolve();
    }, ms).unref();
    if (signal?.aborted) cancelled();
    else signal?.addEventListener('abort', cancelled, { once: true });
  });
}

/** A running fake worker: its server, the calls it received and the ids of the streamed requests it was told to cancel while they ran. */
export interface FakeWorker {
  server: RunningServer;
  calls: ServedCall[];
  /** Ids of streamed requests that a cancel message stopped (stream-cancels.ts). */
  cancelled: string[];
  address: string;
  behaviour: FakeWorkerBehaviour;
}

/** Starts a real OIP gRPC server that computes {@link reference} and records the calls it served. */
export async function startFakeWorker(name: string, options: FakeWorkerBehaviour = {}): Promise<FakeWorker> {
  const calls: ServedCall[] = [];
  const cancelled: string[] = [];
  const serial = new SerialServer(name);
  const described = (): string => {
    if (!options.platform) throw new PinrankError('UNIMPLEMENTED', `test worker ${name}: no metadata`);
    return options.platform;
  };
  const reg = defineService(GRPCInferenceServiceService, {
    modelMetadata: async (req: ModelMetadataRequest) => ({ name: req.name, versions: ['1'], platform: described(), inputs: [], outputs: [] }),
    modelReady: async (req: ModelReadyRequest) => {
      described();
      return { ready: (options.readyModels ?? ['transact_encoder', 'ranking_heads', 'ranking_heads_lite']).includes(req.name) };
    },
    modelInfer: (req: ModelInferRequest, call: CallContext) => serve(req, call.deadline, 'unary', call.signal),
    modelStreamInfer: (requests: AsyncIterable<ModelInferRequest>, call: CallContext, runtime?: CallRuntime) => {
      if (options.streams === false) throw new PinrankError('UNIMPLEMENTED', `test worker ${name}: no ModelStreamInfer`);
      // Ends when the worker drains, and takes cancel messages out, as the real one does.
      const cancels = new StreamCancels(call.signal);
      const slots = new RunSlots(STREAM_MAX_INFLIGHT);
      const answer = async (req: ModelInferRequest): Promise<ModelStreamInferResponse> => {
        const own = cancels.track(req);
        let release: (() => void) | undefined;
        try {
          release = await slots.acquire(own.signal);
          return ModelStreamInferResponse.fromPartial({ inferResponse: await serve(req, requestDeadline(call.deadline, requestTimeoutMs(req)), 'stream', own.signal) });
        } catch (err) {
          const e = PinrankError.from(err);
          if (e.code === 'CANCELLED' && own.signal.aborted && !call.signal.aborted) cancelled.push(req.id);
          return ModelStreamInferResponse.fromPartial({ errorMessage: `${e.code}: ${e.message}`, inferResponse: { id: req.id } });
        } finally {
          release?.();
          own.release();
        }
      };
      // As many at once as the real worker runs, with as many read ahead, answered in completion order.
      return answerConcurrently(cancels.requests(untilDraining(requests, runtime?.draining)), answer, STREAM_MAX_INFLIGHT + STREAM_READ_AHEAD);
    },
  });
  /** One ModelInfer, unary or streamed, until `deadline`; a delay ends early when `signal` aborts. */
  async function serve(req: ModelInferRequest, deadline: Date | undefined, via: ServedCall['via'], signal?: AbortSignal): Promise<ModelInferResponse> {
    if (req.rawInputContents.length !== req.inputs.length) throw new PinrankError('INVALID_ARGUMENT', 'test worker: raw contents expected for every input');
    const { inputs } = decodeInferInputs(req);
    const chained = req.parameters[THEN_MODEL_PARAM]?.parameterChoice;
    calls.push({
      model: req.modelName,
      ...(chained?.$case === 'stringParam' ? { then: chained.value } : {}),
      version: req.modelVersion,
      shapes: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, [...v.dims]])),
      rawBytes: req.rawInputContents.reduce((a, b) => a + b.length, 0),
      via,
      timeoutMs: requestTimeoutMs(req),
    });
    if (options.delayMs) await cancellableDelay(options.delayMs, signal);
    if (options.serviceMs) await serial.take(options.serviceMs, options.queueLimit ?? 16, deadline);
    if (options.failWith && (options.failCount === undefined || options.failCount-- > 0)) throw new PinrankError(options.failWith, `test worker ${name}: told to fail`);
    const first = computeReference(req.modelName, inputs);
    // A chained call (chained-infer.ts): the second model runs on the first one's output.
    const then = req.parameters[THEN_MODEL_PARAM]?.parameterChoice;
    if (then?.$case !== 'stringParam') {
      return ModelInferResponse.fromPartial({ modelName: req.modelName, modelVersion: req.modelVersion || '1', id: req.id, ...encodeInferOutputs([[first.name, first.tensor]], true) });
    }
    const out = computeReference(then.value, { ...inputs, [first.name]: first.tensor });
    return ModelInferResponse.fromPartial({
      modelName: then.value,
      modelVersion: '1',
      id: req.id,
      parameters: { [FIRST_VERSION_PARAM]: { parameterChoice: { $case: 'stringParam', value: req.modelVersion || '1' } } },
      ...encodeInferOutputs([[out.name, out.tensor]], true),
    });
  }
  const server = await startServer({ name, address: '127.0.0.1:0', services: [reg], signals: [], logger: pino({ level: 'silent' }) });
  return { server, calls, cancelled, address: `127.0.0.1:${server.port}`, behaviour: options };
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
    // A version is complete (for the router as for the workers) with model.onnx beside its config; the fake workers compute in JS and never read it.
    await writeFile(join(dir, 'model.onnx'), '');
  }
}

/** Copies a test model version to another version number (its config renamed to match), as publishing a new version does. */
export async function copyTestModelVersion(repo: string, name: string, from: string, to: string): Promise<void> {
  await cp(join(repo, name, from), join(repo, name, to), { recursive: true });
  const configPath = join(repo, name, to, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(configPath, JSON.stringify({ ...config, version: to }, null, 2));
}
