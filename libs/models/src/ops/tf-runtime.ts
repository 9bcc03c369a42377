import type * as TF from '@tensorflow/tfjs';

let loaded: typeof TF | undefined;

/**
 * Loads TensorFlow.js (and the wasm backend) and selects a backend: `wasm`
 * (training; the default) or `cpu` (pure JS). TensorFlow.js is loaded only
 * here, so serving code that imports this library never pays for it.
 */
export async function initTfBackend(backend: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  loaded ??= await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  const ok = await loaded.setBackend(backend);
  if (!ok) throw new Error(`TensorFlow.js backend "${backend}" could not be initialised`);
  await loaded.ready();
}

/** The loaded TensorFlow.js module. Thrown by: a call before `initTfBackend` resolved. */
export function tfjs(): typeof TF {
  if (!loaded) throw new Error('TensorFlow.js is not loaded: await initTfBackend() first');
  return loaded;
}
