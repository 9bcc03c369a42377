import { join } from 'node:path';
import { type BuiltModelEntry } from '@pinrank/models';
import { buildRankerBatch } from '../ranker/batch';
import { type RankRequest } from '../ranker/ranker-data';
import { type TrainedRanker } from '../ranker/trainer';
import { trainedScorer } from './evaluate-ranker';
import { openOnnxRanker } from './onnx-scorer';

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
  const file = (name: string): string => {
    const e = byName.get(name);
    if (!e) throw new Error(`no exported ${name} among ${[...byName.keys()].join(', ')}`);
    return join(e.dir, 'model.onnx');
  };
  const batch = buildRankerBatch(t.data, t.pf, requests, { serveLengthEncoder: true });
  const onnx = await openOnnxRanker(t.encoder ? { encoder: file('transact_encoder'), heads: file('ranking_heads') } : { heads: file('ranking_heads_lite') });
  let probs: Float32Array;
  try {
    probs = await onnx.score(batch);
  } finally {
    await onnx.release();
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
