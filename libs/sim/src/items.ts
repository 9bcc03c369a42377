import { Rng, sampleCumulative } from './prng';
import { type WorldOptions } from './options';

/**
 * The item side of a world: each item's topic mixture (a primary topic and an
 * optional secondary one), its content vector (noisy mixture of topic
 * centroids, L2-normalised: the PinSage stand-in) and its Zipf popularity,
 * plus the cumulative tables used to sample items by popularity.
 */
export interface ItemWorld {
  /** Number of items. */
  readonly count: number;
  /** Number of topics. */
  readonly topics: number;
  /** Content vector dimension. */
  readonly dimension: number;
  /** Primary topic of each item. */
  readonly primaryTopic: Uint16Array;
  /** Secondary topic of each item, or -1 when it has one topic. */
  readonly secondaryTopic: Int16Array;
  /** Weight of the primary topic in the item's mixture (1 when no secondary). */
  readonly primaryWeight: Float32Array;
  /** Content vectors, `count × dimension`, row-major, each row L2-normalised. */
  readonly vectors: Float32Array;
  /** Relative popularity (mean 1 over the catalog). */
  readonly popularity: Float32Array;
  /** Standardised log popularity (mean 0, sd 1): what the affinity uses. */
  readonly popularityZ: Float32Array;
  /** Share of items whose primary topic is each topic. */
  readonly topicShare: Float64Array;
  /** Item indices grouped by primary topic; group t is `topicOffsets[t]..topicOffsets[t+1]`. */
  readonly topicItems: Uint32Array;
  /** Start of each topic's group in `topicItems` (length topics + 1). */
  readonly topicOffsets: Uint32Array;
  /** Cumulative popularity along `topicItems`, restarting at each group. */
  readonly topicCum: Float64Array;
  /** Cumulative popularity over all items in index order. */
  readonly globalCum: Float64Array;
}

function normaliseInPlace(v: Float64Array): void {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += (v[i] as number) * (v[i] as number);
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
}

/** Builds the items of a world from its options (stream names 'topics', 'items'). */
export function generateItems(options: WorldOptions): ItemWorld {
  const { items: count, topics, dimension, seed } = options;
  const topicRng = Rng.stream(seed, 'topics');
  const centroids = new Float64Array(topics * dimension);
  const c = new Float64Array(dimension);
  for (let t = 0; t < topics; t++) {
    for (let d = 0; d < dimension; d++) c[d] = topicRng.normal();
    normaliseInPlace(c);
    centroids.set(c, t * dimension);
  }
  const topicShare = new Float64Array(topics);
  let shareSum = 0;
  for (let t = 0; t < topics; t++) {
    topicShare[t] = topicRng.logNormalMean(1, options.topicSizeSpread);
    shareSum += topicShare[t] as number;
  }
  for (let t = 0; t < topics; t++) topicShare[t] = (topicShare[t] as number) / shareSum;

  // Every topic gets at least one item, the rest follow the topic shares.
  const rng = Rng.stream(seed, 'items');
  const topicCumShare = new Float64Array(topics);
  let acc = 0;
  for (let t = 0; t < topics; t++) topicCumShare[t] = acc += topicShare[t] as number;
  const primaryTopic = new Uint16Array(count);
  const secondaryTopic = new Int16Array(count);
  const primaryWeight = new Float32Array(count);
  const vectors = new Float32Array(count * dimension);
  const noiseScale = options.contentNoise / Math.sqrt(dimension);
  const v = new Float64Array(dimension);
  for (let i = 0; i < count; i++) {
    const p = i < topics ? i : sampleCumulative(topicCumShare, rng.next());
    primaryTopic[i] = p;
    let s = -1;
    let w = 1;
    if (rng.chance(options.secondaryTopicProb)) {
      s = (p + 1 + rng.int(topics - 1)) % topics;
      w = 0.6 + 0.3 * rng.next();
    }
    secondaryTopic[i] = s;
    primaryWeight[i] = w;
    for (let d = 0; d < dimension; d++) {
      let x = w * (centroids[p * dimension + d] as number) + noiseScale * rng.normal();
      if (s >= 0) x += (1 - w) * (centroids[s * dimension + d] as number);
      v[d] = x;
    }
    normaliseInPlace(v);
    for (let d = 0; d < dimension; d++) vectors[i * dimension + d] = v[d] as number;
  }

  // Zipf popularity over a random permutation of ranks.
  const rank = new Uint32Array(count);
  for (let i = 0; i < count; i++) rank[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = rank[i] as number;
    rank[i] = rank[j] as number;
    rank[j] = tmp;
  }
  const raw = new Float64Array(count);
  let rawSum = 0;
  for (let i = 0; i < count; i++) {
    raw[i] = Math.pow((rank[i] as number) + 1, -options.popularityZipf);
    rawSum += raw[i] as number;
  }
  const popularity = new Float32Array(count);
  let logMean = 0;
  for (let i = 0; i < count; i++) {
    popularity[i] = ((raw[i] as number) * count) / rawSum;
    logMean += Math.log(raw[i] as number);
  }
  logMean /= count;
  let logVar = 0;
  for (let i = 0; i < count; i++) logVar += (Math.log(raw[i] as number) - logMean) ** 2;
  const logSd = Math.sqrt(logVar / count) || 1;
  const popularityZ = new Float32Array(count);
  for (let i = 0; i < count; i++) popularityZ[i] = (Math.log(raw[i] as number) - logMean) / logSd;

  const globalCum = new Float64Array(count);
  acc = 0;
  for (let i = 0; i < count; i++) globalCum[i] = acc += raw[i] as number;

  const topicOffsets = new Uint32Array(topics + 1);
  for (let i = 0; i < count; i++) {
    const t = (primaryTopic[i] as number) + 1;
    topicOffsets[t] = (topicOffsets[t] as number) + 1;
  }
  for (let t = 0; t < topics; t++) topicOffsets[t + 1] = (topicOffsets[t + 1] as number) + (topicOffsets[t] as number);
  const fill = topicOffsets.slice(0, topics);
  const topicItems = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const t = primaryTopic[i] as number;
    topicItems[fill[t] as number] = i;
    fill[t] = (fill[t] as number) + 1;
  }
  const topicCum = new Float64Array(count);
  for (let t = 0; t < topics; t++) {
    acc = 0;
    for (let k = topicOffsets[t] as number; k < (topicOffsets[t + 1] as number); k++) {
      topicCum[k] = acc += raw[topicItems[k] as number] as number;
    }
  }
  return {
    count,
    topics,
    dimension,
    primaryTopic,
    secondaryTopic,
    primaryWeight,
    vectors,
    popularity,
    popularityZ,
    topicShare,
    topicItems,
    topicOffsets,
    topicCum,
    globalCum,
  };
}

/** An item of topic `topic` drawn by popularity. */
export function sampleItemInTopic(world: ItemWorld, topic: number, u: number): number {
  const lo = world.topicOffsets[topic] as number;
  const hi = world.topicOffsets[topic + 1] as number;
  // topicCum restarts at 0 for each group, so the group's last entry is its total.
  const target = u * (world.topicCum[hi - 1] as number);
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((world.topicCum[mid] as number) > target) b = mid;
    else a = mid + 1;
  }
  return world.topicItems[a] as number;
}

/** An item drawn by popularity over the whole catalog. */
export function sampleItemByPopularity(world: ItemWorld, u: number): number {
  return sampleCumulative(world.globalCum, u);
}
