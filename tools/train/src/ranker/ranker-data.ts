import { readVectorFile, readVectorFileHeader } from '@pinrank/contracts';
import { DEFAULT_SEQUENCE_TYPES, SequenceTimeline, type SequenceAction } from '@pinrank/features';
import { createSplits, loadWorld, parseItemId, readActionBatches, type Splits, type World, type WorldManifest } from '@pinrank/sim';

const SESSION_GAP_MS = 30 * 60_000;

/**
 * One ranking request: a page of consecutive impressions of one user within a
 * session, scored together as of the time just before the page's first
 * impression, so its candidates share one sequence.
 */
export interface RankRequest {
  user: number;
  /** Request time: 1 ms before the first impression of the page (its own outcome is not in the sequence). */
  timeMs: number;
  /** Session number, unique in the world (sessions split at gaps over 30 minutes). */
  session: number;
  items: number[];
  /** Outcome of each impression (proto ActionType 1..5). */
  outcomes: number[];
  /** Split of the first impression: train, eval (the last evalDays) or heldout (held-out users). */
  part: 'train' | 'eval' | 'heldout';
}

/** A world prepared for ranker training and evaluation. */
export interface RankerData {
  manifest: WorldManifest;
  /** The ground truth (oracle, item topics). */
  world: World;
  splits: Splits;
  /** Catalog content vectors `[items, dimension]` and popularity, as the serving tier reads them. */
  content: Float32Array;
  popularity: Float32Array;
  dimension: number;
  /** Per user: the realtime-sequence timeline at the serving length (libs/features, the feature-server builder). */
  serveTimelines: SequenceTimeline[];
  /** Per user: the same at the training length. */
  trainTimelines: SequenceTimeline[];
  requests: RankRequest[];
}

/** Options of `loadRankerData`. */
export interface RankerDataOptions {
  pageSize: number;
  trainSeqLen: number;
  serveSeqLen: number;
  evalDays: number;
  heldOutUserFraction: number;
}

/**
 * Reads a world once: catalog, every impression (grouped into request pages)
 * and every user's sequence timeline built with `@pinrank/features`
 * `SequenceTimeline` over the log's engagements and hides (the
 * feature-server's default types), with the content vectors captured from the
 * catalog as at ingest. Thrown by: unreadable files (Error).
 */
export async function loadRankerData(worldDir: string, o: RankerDataOptions): Promise<RankerData> {
  const { manifest, world, catalogPath, actionsPath } = await loadWorld(worldDir);
  const splits = createSplits(
    { seed: manifest.seed, users: manifest.counts.users, startMs: manifest.startMs, endMs: manifest.endMs },
    { evalDays: o.evalDays, heldOutUserFraction: o.heldOutUserFraction },
  );
  const header = await readVectorFileHeader(catalogPath);
  const dimension = header.dimension;
  const items = manifest.counts.items;
  const popCol = header.extraFields.indexOf('popularity');
  const content = new Float32Array(items * dimension);
  const popularity = new Float32Array(items);
  for await (const rec of readVectorFile(catalogPath)) {
    const i = parseItemId(rec.id, items);
    content.set(rec.vector, i * dimension);
    popularity[i] = popCol >= 0 ? (rec.extra[popCol] ?? 0) : 0;
  }

  const users = manifest.counts.users;
  const actions: SequenceAction[][] = Array.from({ length: users }, () => []);
  const requests: RankRequest[] = [];
  const open: Array<RankRequest | undefined> = new Array<RankRequest | undefined>(users);
  const lastMs = new Float64Array(users).fill(-Infinity);
  let session = 0;
  let position = 0;
  for await (const b of readActionBatches(actionsPath)) {
    for (let k = 0; k < b.length; k++, position++) {
      const user = b.userIndex[k] as number;
      const item = b.itemIndex[k] as number;
      const t = b.timestampMs[k] as number;
      const type = b.actionType[k] as number;
      if (DEFAULT_SEQUENCE_TYPES.has(type))
        actions[user]!.push({
          actionId: String(position),
          itemId: '',
          actionType: type,
          timestampMs: t,
          surface: b.surface[k] as number,
          durationMs: b.durationMs[k] as number,
          vector: content.subarray(item * dimension, (item + 1) * dimension),
        });
      let req = open[user];
      const newSession = t - (lastMs[user] as number) > SESSION_GAP_MS;
      lastMs[user] = t;
      if (!req || newSession || req.items.length >= o.pageSize) {
        req = { user, timeMs: t - 1, session: newSession || !req ? session++ : req.session, items: [], outcomes: [], part: splits.partOf(user, t) };
        open[user] = req;
        requests.push(req);
      }
      req.items.push(item);
      req.outcomes.push(type);
    }
  }
  const timeline = (len: number) => (a: SequenceAction[]) => new SequenceTimeline(a, { maxLen: len, dimension });
  return {
    manifest,
    world,
    splits,
    content,
    popularity,
    dimension,
    serveTimelines: actions.map(timeline(o.serveSeqLen)),
    trainTimelines: actions.map(timeline(o.trainSeqLen)),
    requests,
  };
}
