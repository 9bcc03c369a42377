import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { type Logger } from 'pino';
import { TENSOR_DTYPES, type ExecutionProvider, type TensorDType } from '@pinrank/contracts';
import { PinrankError } from '@pinrank/service-kit';
import { sessionSignature, type SessionSignature } from './contract-check';
import { type HostTensor, type TensorMap } from './host-tensor';
import { SessionThread, type ThreadSessionMetadata } from './ort-session-thread';

/** Options of {@link OrtModelSession.create}. */
export interface OrtSessionOptions {
  /** Model label for logs and errors ("name:version"). */
  label: string;
  /** Providers to try, in order; the first that creates a session is used. */
  executionProviders: readonly ExecutionProvider[];
  /** Intra-op threads (0 = ONNX Runtime's default, one per core). */
  intraOpThreads: number;
  /** Inter-op threads (0 = ONNX Runtime's default). */
  interOpThreads: number;
  /**
   * Let the session's pool threads spin-wait for work between parallel
   * sections (ONNX Runtime's default) instead of sleeping. Default false:
   * spinning threads take the CPU that other threads need whenever threads
   * outnumber free cores (several sessions in one worker, a pool larger than
   * the container's CPUs): 8 threads on 2 cores made a `transact_encoder`
   * call 5× slower spinning and no slower than 2 threads without
   * (docs/benchmarks.md, "More threads than CPUs").
   */
  spinning?: boolean | undefined;
  /**
   * Keep ONNX Runtime's CPU memory arena (default true): faster, but the
   * memory of the largest batch stays with the process. Off, memory goes back
   * after every run, at about half the speed (docs/benchmarks.md).
   */
  memoryArena?: boolean | undefined;
  /**
   * Run the session in its own worker thread (`SessionThread`): the event loop
   * stays free while it computes, and sessions of different models compute in
   * parallel. Costs an
   * input copy and a thread hand-off per call (about 0.4 ms at 10 candidates
   * of transact_encoder). Default false.
   */
  thread?: boolean | undefined;
  logger?: Logger | undefined;
}

/** ONNX Runtime's session options for `provider` under `o`. */
export function ortSessionOptions(provider: ExecutionProvider, o: Pick<OrtSessionOptions, 'intraOpThreads' | 'interOpThreads' | 'memoryArena' | 'spinning'>): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    enableCpuMemArena: o.memoryArena ?? true,
    ...(o.intraOpThreads > 0 ? { intraOpNumThreads: o.intraOpThreads } : {}),
    ...(o.interOpThreads > 0 ? { interOpNumThreads: o.interOpThreads } : {}),
    // Session config entries (onnxruntime_session_options_config_keys.h): "session.intra_op.allow_spinning" and its inter-op twin.
    ...(o.spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
}

/** One provider that was tried and passed over, and why. */
export interface ProviderFallback {
  provider: ExecutionProvider;
  reason: string;
}

/**
 * Why the cuda provider cannot be used in this process, or undefined when its
 * libraries are installed beside the ONNX Runtime binding (production images
 * install them with ONNXRUNTIME_NODE_INSTALL=cuda12).
 */
export function cudaUnavailableReason(): string | undefined {
  const supported = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!supported) return 'this ONNX Runtime build has no cuda provider';
  const bindingDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const lib = join(bindingDir, 'libonnxruntime_providers_cuda.so');
  return existsSync(lib) ? undefined : 'cuda provider libraries are not installed (libonnxruntime_providers_cuda.so missing)';
}

/** Where a session computes: on the calling thread, or in its own worker thread. */
type SessionRunner = { session: ort.InferenceSession } | { thread: SessionThread; metadata: ThreadSessionMetadata };

/**
 * An ONNX Runtime session for one model version, created on the first
 * configured execution provider that works; the providers passed over are
 * kept with their reasons so they can be logged and reported.
 */
export class OrtModelSession {
  private constructor(
    private readonly runner: SessionRunner,
    /** The provider actually in use. */
    readonly provider: ExecutionProvider,
    /** Providers tried first and passed over. */
    readonly fallbacks: readonly ProviderFallback[],
  ) {}

  /** Whether the session computes in its own worker thread. */
  get threaded(): boolean {
    return 'thread' in this.runner;
  }

  /** Creates the session. Thrown by: every configured provider failing — an Error listing each reason. */
  static async create(model: string | Uint8Array, options: OrtSessionOptions): Promise<OrtModelSession> {
    const fallbacks: ProviderFallback[] = [];
    for (const provider of options.executionProviders) {
      if (provider === 'cuda') {
        const reason = cudaUnavailableReason();
        if (reason) {
          fallbacks.push({ provider, reason });
          options.logger?.warn({ model: options.label, provider, reason }, 'execution provider skipped');
          continue;
        }
      }
      const sessionOptions = ortSessionOptions(provider, options);
      try {
        let runner: SessionRunner;
        if (options.thread) runner = await SessionThread.create(options.label, model, sessionOptions);
        // Two calls because the runtime's overloads take a path or bytes, not their union.
        else if (typeof model === 'string') runner = { session: await ort.InferenceSession.create(model, sessionOptions) };
        else runner = { session: await ort.InferenceSession.create(model, sessionOptions) };
        if (fallbacks.length > 0) {
          options.logger?.warn({ model: options.label, provider, passedOver: fallbacks }, 'execution provider fallback');
        }
        return new OrtModelSession(runner, provider, fallbacks);
      } catch (err) {
        const reason = firstLine(PinrankError.from(err).message);
        fallbacks.push({ provider, reason });
        options.logger?.warn({ model: options.label, provider, reason }, 'execution provider failed; trying the next');
      }
    }
    throw new Error(`no execution provider could run ${options.label}: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
  }

  /** The declared inputs and outputs, for the contract check. */
  signature(): SessionSignature {
    return sessionSignature('session' in this.runner ? this.runner.session : this.runner.metadata);
  }

  /** Runs the model; on the main thread tensors pass to and from ONNX Runtime without copies (threaded: inputs are copied once). */
  async run(inputs: TensorMap, outputNames?: readonly string[]): Promise<TensorMap> {
    if ('thread' in this.runner) {
      const out = await this.runner.thread.run(inputs, outputNames);
      for (const [name, t] of Object.entries(out)) checkServedType(name, t.dtype);
      return out;
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.dtype, t.data, [...t.dims]);
    const results = outputNames ? await this.runner.session.run(feeds, [...outputNames]) : await this.runner.session.run(feeds);
    const out: TensorMap = {};
    for (const [name, value] of Object.entries(results)) out[name] = toHost(name, value);
    return out;
  }

  /** Frees the native session (and its thread). */
  async release(): Promise<void> {
    if ('thread' in this.runner) await this.runner.thread.release();
    else await this.runner.session.release();
  }
}

function checkServedType(name: string, type: string): void {
  if (!(TENSOR_DTYPES as readonly string[]).includes(type)) throw new Error(`output "${name}" has element type ${type}, which pinrank does not serve`);
}

function toHost(name: string, t: ort.Tensor): HostTensor {
  checkServedType(name, t.type);
  return { dtype: t.type as TensorDType, dims: [...t.dims], data: t.data as HostTensor['data'] };
}

function firstLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[0] ?? message).slice(0, 400);
}
