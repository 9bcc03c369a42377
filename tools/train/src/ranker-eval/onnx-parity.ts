import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuiltModelEntry, createCpuSession, runOnnx } from '@pinrank/models';
import { buildRankerBatch } from '../ranker/batch';
import { type RankRequest } from '../ranker/ranker-data';
import { type TrainedRanker } from '../ranker/trainer';
import { trainedScorer } from './evaluate-ranker';

/** Largest absolute difference between the exported ONNX models and the training forward pass. */
export interface ParityResult {
  maxAbsDiff: number;
  candidates: number;
}

/**
 * Runs the exported entries in ONNX Runtime (transact_encoder → ranking_heads,
 * or ranking_heads_lite) on the requests' inputs at the serving sequence
 * length and compares the probabilities with the TensorFlow.js forward pass
 * of the trained weights. Thrown by: entries that do not match the trained variant (Error).
 */
export async function checkOnnxParity(t: TrainedRanker, entries: readonly BuiltModelEntry[], requests: readonly RankRequest[]): Promise<ParityResult> {
  const byName = new Map(entries.map((e) => [e.manifest.name, e]));
  const session = async (name: string) => {
    const e = byName.get(name);
    if (!e) throw new Error(`no exported ${name} among ${[...byName.keys()].join(', ')}`);
    return createCpuSession(await readFile(join(e.dir, 'model.onnx')));
  };
  const batch = buildRankerBatch(t.data, t.pf, requests, { serveLengthEncoder: true });
  let probs: Float32Array;
  if (t.encoder) {
    const enc = await session('transact_encoder');
    const heads = await session('ranking_heads');
    try {
      const encoded = (await runOnnx(enc, batch.encoder))['encoded'];
      if (!encoded) throw new Error('transact_encoder produced no "encoded"');
      const out = await runOnnx(heads, { ...batch.heads, encoded: { dtype: 'float32', shape: encoded.shape, data: encoded.data } });
      probs = out['probs']?.data ?? new Float32Array();
    } finally {
      await enc.release();
      await heads.release();
    }
  } else {
    const lite = await session('ranking_heads_lite');
    try {
      probs = (await runOnnx(lite, batch.heads))['probs']?.data ?? new Float32Array();
    } finally {
      await lite.release();
    }
  }
  const scorer = trainedScorer(t, t.pf);
  try {
    const reference = scorer(requests);
    if (reference.length !== probs.length) throw new Error(`ONNX gave ${probs.length} values, the training forward pass ${reference.length}`);
    let maxAbsDiff = 0;
    for (let i = 0; i < probs.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs((probs[i] as number) - (reference[i] as number)));
    return { maxAbsDiff, candidates: batch.n };
  } finally {
    scorer.dispose();
  }
}
