import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuiltModelEntry } from '@pinrank/models';
import { checkOnnxParity, type ParityResult } from '../ranker-eval/onnx-parity';
import { type RankerEvaluation, evaluateScorer, evaluationRequests, oracleScorer, trainedScorer } from '../ranker-eval/evaluate-ranker';
import { ProbeWorldTooSmall, type RealtimeProbeOptions, type RealtimeProbeResult, realtimeProbe } from '../ranker-eval/realtime-probe';
import { exportRanker, saveRankerWeights } from './export-ranker';
import { type RankerTrainOptions, resolveRankerOptions } from './options';
import { type TrainedRanker, loadRankerInputs, trainRanker } from './trainer';

/** Options of `runRanker`: training plus evaluation and export. */
export interface RunRankerOptions extends RankerTrainOptions {
  /** Evaluate on the held-out sessions. Default true. */
  evaluate?: boolean;
  /** At most this many evaluation sessions. Default 600. */
  evalSessions?: number;
  /** Also evaluate the simulator's oracle (the ceiling). Default true. */
  oracle?: boolean;
  /** Export into this model repository (full ranker or lite only). Default none. */
  exportRepository?: string;
  /** Version directory of the export. Default "2". */
  exportVersion?: string;
  /** Replace existing entries. Default false. */
  overwrite?: boolean;
  /** Options of the realtime-effect probe run with the evaluation (`realtimeProbe`). */
  realtimeProbe?: RealtimeProbeOptions;
  /** Evaluation requests checked for ONNX parity after export. Default 8. */
  parityRequests?: number;
}

/** What `runRanker` produced (also written to `<runDir>/eval.json`). */
export interface RunRankerResult {
  trained: TrainedRanker;
  evaluation?: RankerEvaluation;
  /** The realtime-effect probe of the trained model (absent when the world is too small for it). */
  realtime?: RealtimeProbeResult;
  oracle?: RankerEvaluation;
  exported?: BuiltModelEntry[];
  parity?: ParityResult;
  weights: Record<string, string>;
}

/** Trains a ranker variant, evaluates it (and the oracle) on held-out sessions, exports it and checks ONNX parity. */
export async function runRanker(o: RunRankerOptions): Promise<RunRankerResult> {
  const resolved = resolveRankerOptions(o);
  const inputs = await loadRankerInputs(resolved);
  const trained = await trainRanker(o, inputs);
  const requests = evaluationRequests(inputs.data, { maxSessions: o.evalSessions ?? 600 });
  let evaluation: RankerEvaluation | undefined;
  let oracle: RankerEvaluation | undefined;
  let realtime: RealtimeProbeResult | undefined;
  if (o.evaluate ?? true) {
    const scorer = trainedScorer(trained, inputs.pf);
    try {
      evaluation = evaluateScorer(inputs.data, requests, scorer);
      realtime = await realtimeProbe(inputs.data, inputs.pf, (batch) => scorer.scoreBatch(batch), { dropPinnerformer: !resolved.variant.pinnerformer, ...o.realtimeProbe }).catch((err: unknown) => {
        // A world too small for the probe still gets its evaluation.
        if (err instanceof ProbeWorldTooSmall) return undefined;
        throw err;
      });
    } finally {
      scorer.dispose();
    }
    if (o.oracle ?? true) oracle = evaluateScorer(inputs.data, requests, oracleScorer(inputs.data));
  }
  const provenance = evaluation ? { evaluation } : {};
  let exported: BuiltModelEntry[] | undefined;
  let parity: ParityResult | undefined;
  let weights: Record<string, string>;
  if (o.exportRepository) {
    exported = await exportRanker(trained, {
      repositoryDir: o.exportRepository,
      version: o.exportVersion ?? '2',
      overwrite: o.overwrite ?? false,
      provenance,
    });
    weights = Object.fromEntries(exported.map((e) => [e.manifest.name, join(resolved.runDir, `${e.manifest.name}.prw`)]));
    parity = await checkOnnxParity(trained, exported, requests.slice(0, o.parityRequests ?? 8));
  } else {
    weights = await saveRankerWeights(trained, provenance);
  }
  const { onStep: _s, ...options } = trained.options;
  const report = {
    options,
    pinnerformerVersion: inputs.pf.pinnerformerVersion,
    snapshots: inputs.pf.versions,
    trainSeconds: trained.trainSeconds,
    finalLoss: trained.losses.at(-1) ?? null,
    evalRequests: requests.length,
    evaluation: evaluation ?? null,
    oracle: oracle ?? null,
    realtime: realtime ?? null,
    exported: exported?.map((e) => e.dir) ?? [],
    parity: parity ?? null,
  };
  await writeFile(join(resolved.runDir, 'eval.json'), `${JSON.stringify(report, null, 2)}\n`);
  return { trained, weights, ...(evaluation ? { evaluation } : {}), ...(realtime ? { realtime } : {}), ...(oracle ? { oracle } : {}), ...(exported ? { exported } : {}), ...(parity ? { parity } : {}) };
}
