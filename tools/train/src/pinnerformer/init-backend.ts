import { initTfBackend } from '@pinrank/models';
import { initTraining, type InitTrainingOptions } from '../init-training';

/**
 * Prepares this process for training and evaluation with `@pinrank/models`:
 * the wasm backend with the fast kernels (`initTraining`), then the models
 * library's TensorFlow.js handle (`initTfBackend`), which `TfOps` reads.
 */
export async function initModelTraining(options: InitTrainingOptions = {}): Promise<void> {
  await initTraining(options);
  await initTfBackend('wasm');
}
