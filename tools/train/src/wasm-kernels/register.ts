import {
  BatchMatMul,
  Concat,
  GatherV2,
  Identity,
  Sum,
  getGradient,
  getKernel,
  registerGradient,
  registerKernel,
  Slice,
  SplitV,
  Tile,
  Transpose,
  unregisterGradient,
  unregisterKernel,
  Unpack,
  type GradConfig,
  type KernelConfig,
} from '@tensorflow/tfjs';
import { createBatchMatMulKernel } from './batch-matmul';
import { createConcatKernel } from './concat';
import { createGatherV2Kernel } from './gather-v2';
import { createIdentityKernel } from './identity';
import { createSumKernel } from './sum';
import { batchMatMulGradConfig } from './batch-matmul-grad';
import { maxGradConfig } from './max-grad';
import { meanGradConfig } from './mean-grad';
import { createSliceKernel } from './slice';
import { createSplitVKernel } from './split-v';
import { sumGradConfig } from './sum-grad';
import { createTileKernel } from './tile';
import { createTransposeKernel } from './transpose';
import { tileGradConfig } from './tile-grad';
import { createUnpackKernel } from './unpack';
import { createUnsortedSegmentSumKernel } from './unsorted-segment-sum';

const BACKEND = 'wasm';

/** What registration replaced, so `unregisterFastWasmKernels` can put it back. */
interface Saved {
  kernels: Map<string, KernelConfig | undefined>;
  gradients: Map<string, GradConfig | undefined>;
}

let saved: Saved | null = null;

function stockKernel(name: string): KernelConfig {
  const config = getKernel(name, BACKEND);
  if (config == null) {
    throw new Error(`wasm kernel ${name} is not registered: import '@tensorflow/tfjs-backend-wasm' before registering`);
  }
  return config;
}

function replaceKernel(state: Saved, config: KernelConfig): void {
  const previous = getKernel(config.kernelName, BACKEND);
  state.kernels.set(config.kernelName, previous);
  if (previous != null) unregisterKernel(config.kernelName, BACKEND);
  registerKernel(config);
}

function replaceGradient(state: Saved, config: GradConfig): void {
  state.gradients.set(config.kernelName, getGradient(config.kernelName));
  registerGradient(config);
}

/**
 * Replaces the slow wasm kernels and gradients with the fast ones. Kernels: BatchMatMul, Slice,
 * SplitV, Unpack, Tile, Concat, Identity, Sum, GatherV2, Transpose, UnsortedSegmentSum. Gradients:
 * BatchMatMul (broadcast batches), Tile, Max, Sum, Mean. Idempotent. Gradients are global to tfjs
 * (all backends) and compute the same values as the stock ones.
 */
export function registerFastWasmKernels(): void {
  if (saved != null) return;
  const state: Saved = { kernels: new Map(), gradients: new Map() };
  const kernels = [
    createBatchMatMulKernel(stockKernel(BatchMatMul)),
    createSliceKernel(stockKernel(Slice)),
    createSplitVKernel(stockKernel(SplitV)),
    createUnpackKernel(stockKernel(Unpack)),
    createTileKernel(stockKernel(Tile)),
    createConcatKernel(stockKernel(Concat)),
    createIdentityKernel(stockKernel(Identity)),
    createSumKernel(stockKernel(Sum)),
    createGatherV2Kernel(stockKernel(GatherV2)),
    createTransposeKernel(stockKernel(Transpose)),
    createUnsortedSegmentSumKernel(),
  ];
  for (const config of kernels) replaceKernel(state, config);
  for (const config of [batchMatMulGradConfig, tileGradConfig, maxGradConfig, sumGradConfig, meanGradConfig]) replaceGradient(state, config);
  saved = state;
}

/** Restores the stock kernels and gradients that `registerFastWasmKernels` replaced (for benchmarks and tests). */
export function unregisterFastWasmKernels(): void {
  if (saved == null) return;
  for (const [name, previous] of saved.kernels) {
    unregisterKernel(name, BACKEND);
    if (previous != null) registerKernel(previous);
  }
  for (const [name, previous] of saved.gradients) {
    if (previous != null) registerGradient(previous);
    else unregisterGradient(name);
  }
  saved = null;
}

/** Whether the fast kernels are currently registered. */
export function fastWasmKernelsRegistered(): boolean {
  return saved != null;
}
