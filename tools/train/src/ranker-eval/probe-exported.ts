import { existsSync } from 'node:fs';
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
 * missing model files or an unreadable world (Error), a world too small (ProbeWorldTooSmall).
 */
export async function probeExportedRanker(o: ProbeExportedOptions): Promise<RealtimeProbeResult> {
  const file = (name: string): string => {
    const path = join(o.repository, name, o.version, 'model.onnx');
    if (!existsSync(path)) throw new Error(`no ${name} version ${o.version} in ${o.repository} (${path} is missing)`);
    return path;
  };
  const names = o.lite ? ['ranking_heads_lite'] : ['transact_encoder', 'ranking_heads'];
  const files = names.map((name) => file(name));
  const data = await loadRankerData(o.worldDir, { pageSize: 6, trainSeqLen: 32, serveSeqLen: 100, evalDays: 7, heldOutUserFraction: 0.1 });
  const pf = await PfSnapshots.load(o.snapshotsDir, data.manifest.counts.users, data.manifest.counts.items);
  const onnx = await openOnnxRanker(files.length === 1 ? { heads: files[0] as string } : { encoder: files[0] as string, heads: files[1] as string });
  try {
    return await realtimeProbe(data, pf, onnx.score, o);
  } finally {
    await onnx.release();
  }
}
