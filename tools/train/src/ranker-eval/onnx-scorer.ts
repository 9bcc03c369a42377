import { readFile } from 'node:fs/promises';
import { createCpuSession, runOnnx } from '@pinrank/models';
import { type BatchScorer } from './realtime-probe';

/** Exported ranker models in ONNX Runtime, scoring built batches like the serving tier does. */
export interface OnnxRanker {
  score: BatchScorer;
  release(): Promise<void>;
}

/**
 * Opens `model.onnx` files of an exported ranker: transact_encoder →
 * ranking_heads when `encoder` is given, ranking_heads_lite alone otherwise
 * (`heads`). Thrown by: unreadable or invalid model files (Error).
 */
export async function openOnnxRanker(files: { encoder?: string; heads: string }): Promise<OnnxRanker> {
  const heads = await createCpuSession(await readFile(files.heads));
  const enc = files.encoder ? await createCpuSession(await readFile(files.encoder)).catch(async (err: unknown) => {
    await heads.release();
    throw err;
  }) : undefined;
  const score: BatchScorer = async (batch) => {
    let inputs = batch.heads;
    if (enc) {
      const encoded = (await runOnnx(enc, batch.encoder))['encoded'];
      if (!encoded) throw new Error('transact_encoder produced no "encoded"');
      inputs = { ...batch.heads, encoded: { dtype: 'float32', shape: encoded.shape, data: encoded.data } };
    }
    const probs = (await runOnnx(heads, inputs))['probs'];
    if (!probs) throw new Error('the ranking heads produced no "probs"');
    return probs.data as Float32Array;
  };
  return {
    score,
    release: async () => {
      await enc?.release();
      await heads.release();
    },
  };
}
