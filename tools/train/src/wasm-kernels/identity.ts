import { Identity, type KernelConfig, type KernelFunc, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import { asWasmBackend } from './wasm-backend';

/**
 * Identity (tf.clone) that shares the input's buffer by reference count instead of copying it, as the
 * cpu backend does. The engine clones every tensor it saves for the backward pass, so the stock
 * copying kernel duplicates most activations of a training step. Strings go to `stock`.
 */
export function createIdentityKernel(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: unknown }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock.kernelFunc(args as never) as TensorInfo;
    asWasmBackend(args.backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { kernelName: Identity, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
}
