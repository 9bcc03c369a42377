import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerFastWasmKernels } from './wasm-kernels/register';

/** Options of `initTraining`. */
export interface InitTrainingOptions {
  /** XNNPACK threads; default 1. Under Node the wasm build runs one thread whatever this says. */
  threads?: number;
  /** Folder holding the tfjs-backend-wasm `.wasm` binaries; default: the installed package's `dist`. */
  wasmDir?: string;
  /** Register the fast kernels and gradients; default true. */
  fastKernels?: boolean;
}

type ResolvedOptions = Required<InitTrainingOptions>;

function addDefaults(options: InitTrainingOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    threads: options.threads ?? 1,
    wasmDir: options.wasmDir ?? path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')),
    fastKernels: options.fastKernels ?? true,
  };
  if (!Number.isInteger(resolved.threads) || resolved.threads < 1) {
    throw new TypeError(`threads must be a positive integer, got ${resolved.threads}`);
  }
  return resolved;
}

/**
 * Selects the tfjs wasm backend (loading its binaries from disk) and registers the fast kernels.
 * Thrown by when the options are invalid (TypeError) or the backend fails to initialise (Error).
 */
export async function initTraining(options: InitTrainingOptions = {}): Promise<void> {
  const { threads, wasmDir, fastKernels } = addDefaults(options);
  if (tf.getBackend() !== 'wasm') {
    setThreadsCount(threads);
    setWasmPaths(wasmDir.endsWith(path.sep) ? wasmDir : wasmDir + path.sep);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error(`the tfjs wasm backend failed to initialise from ${wasmDir}`);
    await tf.ready();
  }
  if (fastKernels) registerFastWasmKernels();
}
