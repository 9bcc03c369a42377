import { towerPrefix } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { AnnIndex, type AnnIndexOptions } from './ann-index';

/**
 * Builds the ANN index of one snapshot version from the tower vectors stored
 * under its keys (`expectedCount` sizes the first buffer; it grows as needed).
 */
export async function buildIndexFromStore(
  store: VectorStore,
  version: string,
  dimension: number,
  expectedCount: number,
  batchSize: number,
  options: AnnIndexOptions,
): Promise<AnnIndex> {
  const ids: string[] = [];
  let vectors = new Float32Array(Math.max(1, expectedCount) * dimension);
  for await (const batch of store.scan(towerPrefix(version), batchSize)) {
    for (const [id, vector] of batch) {
      if ((ids.length + 1) * dimension > vectors.length) {
        const grown = new Float32Array(vectors.length * 2);
        grown.set(vectors);
        vectors = grown;
      }
      vectors.set(vector, ids.length * dimension);
      ids.push(id);
    }
  }
  return AnnIndex.build(ids, vectors.subarray(0, ids.length * dimension), dimension, options);
}
