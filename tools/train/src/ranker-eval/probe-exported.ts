import { join } from 'node:path';
import { PfSnapshots } from '../ranker/pf-snapshots';
import { loadRankerData } from '../ranker/ranker-data';
import { openOnnxRanker } from './onnx-scorer';
import { type RealtimeProbeOptions, type RealtimeProbeResult, realtimeProbe } from './realtime-probe';

/** Options of `probeExportedRanker`. */
export interface ProbeExportedOptions extends RealtimeProbeOptions {
  /** World directory written by `pinrank simulate`. */
  worldDir: string;
  /** PinnerFormer snapshots written by `pinrank embed`. */
  snapshotsDir: string;
  /** Model repository holding `<name>/<version>/model.onnx`. */
  repository: string;
  /** Version directory of the probed models. */
  version: string;
  /** Probe ranking_heads_lite instead of transact_encoder → ranking_heads. Default false. */
  lite?: boolean;
}

/**
 * The realtime-effect probe (`realtimeProbe`) of exported ONNX models from a
 * repository, on a world and its snapshots: what the service-level
 * realtime-effect test will see, without starting the stack. Thrown by:
 * missing model files or an unreadable world (Error), a world too small (RangeError).
 */
export async function probeExportedRanker(o: ProbeExportedOptions): Promise<RealtimeProbeResult> {
  const data = await loadRankerData(o.worldDir, { pageSize: 6, trainSeqLen: 32, serveSeqLen: 100, evalDays: 7, heldOutUserFraction: 0.1 });
  const pf = await PfSnapshots.load(o.snapshotsDir, data.manifest.counts.users, data.manifest.counts.items);
  const file = (name: string): string => join(o.repository, name, o.version, 'model.onnx');
  const onnx = await openOnnxRanker(o.lite ? { heads: file('ranking_heads_lite') } : { encoder: file('transact_encoder'), heads: file('ranking_heads') });
  try {
    return await realtimeProbe(data, pf, onnx.score, o);
  } finally {
    await onnx.release();
  }
}
