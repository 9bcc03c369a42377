import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type InferenceSession } from 'onnxruntime-node';
import { type TensorDType } from '@pinrank/contracts';
import { type HostTensor, type TensorMap } from './host-tensor';

/** A session's declared tensors, as the thread reports them (the fields `sessionSignature` reads). */
export interface ThreadSessionMetadata {
  inputMetadata: InferenceSession.ValueMetadata[];
  outputMetadata: InferenceSession.ValueMetadata[];
}

interface WireTensor {
  type: string;
  dims: number[];
  data: HostTensor['data'];
}

type Reply = { id?: number; op?: string; ok?: boolean; error?: string; outputs?: Record<string, WireTensor> } & Partial<ThreadSessionMetadata>;

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

/**
 * One ONNX Runtime session in its own worker thread. onnxruntime-node runs a
 * session synchronously on the calling thread (after a `setImmediate`), so on
 * the main thread a worker reads no request, answers no health check and
 * refuses nothing while a call computes. Here the event loop stays free (the
 * next request is read, checked and queued while one computes) and sessions
 * of different models compute in parallel; calls on one session still run one
 * at a time. Inputs are copied once into buffers of their exact size and moved
 * to the thread; outputs are moved back without a copy.
 */
export class SessionThread {
  private readonly waiting = new Map<number, Waiter>();
  private control: Waiter | undefined;
  private nextId = 1;
  private exited: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    label: string,
  ) {
    worker.on('message', (reply: Reply) => {
      if (reply.id !== undefined) {
        const w = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        w?.resolve(reply);
      } else {
        const w = this.control;
        this.control = undefined;
        w?.resolve(reply);
      }
    });
    const fail = (err: Error): void => {
      this.exited = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.control?.reject(err);
      this.control = undefined;
    };
    worker.on('error', (err) => fail(new Error(`${label}: ONNX Runtime thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`${label}: ONNX Runtime thread exited (code ${code})`)));
  }

  /** Starts a thread and creates the session in it. Thrown by: the runtime refusing the model or options — with its message. */
  static async create(label: string, model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<{ thread: SessionThread; metadata: ThreadSessionMetadata }> {
    const thread = new SessionThread(new Worker(join(__dirname, 'ort-session-thread.cjs')), label);
    // Bytes are copied: the caller keeps its own (they are read again for the gather tables).
    const reply = await thread.ask({ op: 'create', model: typeof model === 'string' ? model : new Uint8Array(model), options });
    if (!reply.ok) {
      await thread.worker.terminate();
      throw new Error(reply.error ?? 'session creation failed');
    }
    return { thread, metadata: { inputMetadata: reply.inputMetadata ?? [], outputMetadata: reply.outputMetadata ?? [] } };
  }

  /** Runs the session on `inputs` (requested outputs, or all). Thrown by: the runtime — with its message. */
  async run(inputs: TensorMap, outputNames?: readonly string[]): Promise<TensorMap> {
    if (this.exited) throw this.exited;
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(inputs)) {
      // An exact-size copy: a view may sit in a larger buffer (a gRPC message), which must not move.
      const data = t.data.slice() as HostTensor['data'];
      if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
      wire[name] = { type: t.dtype, dims: [...t.dims], data };
    }
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ op: 'run', id, inputs: wire, ...(outputNames ? { outputNames: [...outputNames] } : {}) }, transfer);
    });
    if (!reply.ok) throw new Error(reply.error ?? 'run failed');
    const out: TensorMap = {};
    for (const [name, t] of Object.entries(reply.outputs ?? {})) out[name] = { dtype: t.type as TensorDType, dims: t.dims, data: t.data };
    return out;
  }

  /** Frees the session and ends the thread. */
  async release(): Promise<void> {
    if (!this.exited) {
      try {
        await this.ask({ op: 'release' });
      } catch {
        // The thread is gone already: nothing left to free.
      }
    }
    await this.worker.terminate();
  }

  private ask(msg: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<Reply>((resolve, reject) => {
      this.control = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }
}
