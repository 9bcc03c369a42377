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

/** Restarts of a thread allowed within {@link RESTART_WINDOW_MS} before it is left down. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * One ONNX Runtime session in its own worker thread. onnxruntime-node runs a
 * session synchronously on the calling thread (after a `setImmediate`), so on
 * the main thread a worker reads no request, answers no health check and
 * refuses nothing while a call computes. Here the event loop stays free (the
 * next request is read, checked and queued while one computes) and sessions
 * of different models compute in parallel; calls on one session still run one
 * at a time. Inputs are copied once into buffers of their exact size and moved
 * to the thread; outputs are moved back without a copy.
 *
 * A thread that dies (a native crash, an out-of-memory kill of the thread)
 * fails the calls it held, and is started again with the same model and
 * options; calls made meanwhile wait for it. After {@link MAX_RESTARTS}
 * restarts in a minute it stays down and every call fails with the reason.
 */
export class SessionThread {
  private readonly waiting = new Map<number, Waiter>();
  private control: Waiter | undefined;
  private nextId = 1;
  private worker!: Worker;
  /** Why calls fail now: the thread is gone and will not be started again. */
  private down: Error | undefined;
  /** Set while a dead thread is being replaced: calls wait for it. */
  private restarting: Promise<void> | undefined;
  private released = false;
  /** Whether the current thread is running (it answers messages). */
  private alive = false;
  private readonly restarts: number[] = [];

  private constructor(
    private readonly label: string,
    private readonly model: string | Uint8Array,
    private readonly options: InferenceSession.SessionOptions,
  ) {}

  /** Times the thread was started again after it died. */
  get restartCount(): number {
    return this.restarts.length;
  }

  /** Starts a thread and creates the session in it. Thrown by: the runtime refusing the model or options — with its message. */
  static async create(label: string, model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<{ thread: SessionThread; metadata: ThreadSessionMetadata }> {
    // Bytes are copied: the caller keeps its own (they are read again for the gather tables).
    const thread = new SessionThread(label, typeof model === 'string' ? model : new Uint8Array(model), options);
    const metadata = await thread.start();
    return { thread, metadata };
  }

  /** Runs the session on `inputs` (requested outputs, or all). Thrown by: the runtime — with its message; a thread that is down. */
  async run(inputs: TensorMap, outputNames?: readonly string[]): Promise<TensorMap> {
    if (this.restarting) await this.restarting;
    if (this.down) throw this.down;
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
    this.released = true;
    this.down ??= new Error(`${this.label}: ONNX Runtime thread exited (the session was released)`);
    if (this.restarting) await this.restarting;
    if (this.alive) {
      try {
        await this.ask({ op: 'release' });
      } catch {
        // The thread died meanwhile: nothing left to free.
      }
    }
    await this.worker.terminate();
  }

  /** Starts a thread and creates the session in it; on failure the thread is ended and the runtime's message thrown. */
  private async start(): Promise<ThreadSessionMetadata> {
    const worker = new Worker(join(__dirname, 'ort-session-thread.cjs'));
    this.worker = worker;
    this.alive = true;
    worker.on('message', (reply: Reply) => {
      const w = reply.id !== undefined ? this.waiting.get(reply.id) : this.control;
      if (reply.id !== undefined) this.waiting.delete(reply.id);
      else this.control = undefined;
      w?.resolve(reply);
    });
    worker.on('error', (err) => this.lost(worker, new Error(`${this.label}: ONNX Runtime thread failed: ${err.message}`)));
    worker.on('exit', (code) => this.lost(worker, new Error(`${this.label}: ONNX Runtime thread exited (code ${code})`)));
    const model = typeof this.model === 'string' ? this.model : this.model.slice();
    const reply = await this.ask({ op: 'create', model, options: this.options });
    if (!reply.ok) {
      const err = new Error(reply.error ?? 'session creation failed');
      this.down = err; // not started again: the same model and options would fail the same way
      await worker.terminate();
      throw err;
    }
    return { inputMetadata: reply.inputMetadata ?? [], outputMetadata: reply.outputMetadata ?? [] };
  }

  /** The thread `worker` died: fail what it held, then start another (unless released or restarting too often). */
  private lost(worker: Worker, err: Error): void {
    if (worker !== this.worker) return;
    this.alive = false;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    this.control?.reject(err);
    this.control = undefined;
    if (this.released || this.restarting || this.down) return;
    const now = Date.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      this.down = new Error(`${err.message}; not restarted: ${this.restarts.length} restarts within ${RESTART_WINDOW_MS / 1000} s`);
      return;
    }
    this.restarts.push(now);
    this.restarting = this.start().then(
      () => {
        this.restarting = undefined;
      },
      (startErr: unknown) => {
        this.restarting = undefined;
        this.down = new Error(`${err.message}; restarting it failed: ${startErr instanceof Error ? startErr.message : String(startErr)}`);
      },
    );
  }

  private ask(msg: Record<string, unknown>): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.control = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }
}
