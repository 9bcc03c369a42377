import { type Logger } from 'pino';
import { type VectorStore } from '../store/vector-store';
import { type AnnIndex, type AnnIndexOptions } from './ann-index';
import { AnnIndexCache, type IndexStamp } from './index-cache';
import { buildIndexFromStore } from './index-from-store';

/** Options of {@link SnapshotIndexes}. */
export interface SnapshotIndexesOptions {
  /** Where each version's tower vectors are read from to build its index. */
  store: VectorStore;
  /** Vectors per store read while building. */
  batchSize: number;
  /** ANN tuning (validated by the caller). */
  ann: AnnIndexOptions;
  /** Local folder where built graphs are saved and reopened after a restart; none keeps them in memory only. */
  indexDir?: string;
  /** Log sink; default silent. */
  logger?: Logger;
  /** Clock (epoch ms) for build times in the logs. */
  now: () => number;
}

/**
 * One ANN index per snapshot version, opened or built once: reused while it
 * is in memory, reopened from its saved graph on disk when the stamp matches
 * (a restart then takes milliseconds), else built from the store's tower
 * vectors and saved. A failed open or build is forgotten, so the next call
 * tries again.
 */
export class SnapshotIndexes {
  private readonly indexes = new Map<string, Promise<AnnIndex>>();
  private readonly files: AnnIndexCache | undefined;

  constructor(private readonly o: SnapshotIndexesOptions) {
    this.files = o.indexDir ? new AnnIndexCache(o.indexDir, o.logger) : undefined;
  }

  /**
   * The index of a version (a snapshot record serves as its stamp): the one in
   * memory (or being prepared), else opened from disk or built.
   */
  get(stamp: IndexStamp): Promise<AnnIndex> {
    const { version } = stamp;
    let index = this.indexes.get(version);
    if (!index) {
      index = this.prepare(stamp);
      this.indexes.set(version, index);
      index.catch(() => {
        if (this.indexes.get(version) === index) this.indexes.delete(version);
      });
    }
    return index;
  }

  /** Drops a version's index from memory (its saved graph stays). */
  forget(version: string): void {
    this.indexes.delete(version);
  }

  /** Drops a version's index from memory and deletes its saved graph (eviction, a failed load); a failure to delete is logged. */
  async discard(version: string): Promise<void> {
    this.indexes.delete(version);
    await this.files?.remove(version).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not remove a saved ANN index'));
  }

  private async prepare(of: IndexStamp): Promise<AnnIndex> {
    // Copied now: a record passed as the stamp goes on changing.
    const stamp: IndexStamp = { version: of.version, seq: of.seq, startedAtMs: of.startedAtMs, itemCount: of.itemCount, dimension: of.dimension };
    const { version } = stamp;
    const saved = await this.files?.open(stamp, this.o.ann);
    if (saved) {
      this.o.logger?.info({ version, items: saved.size }, 'ANN index opened from disk');
      return saved;
    }
    const started = this.o.now();
    const index = await buildIndexFromStore(this.o.store, version, stamp.dimension, stamp.itemCount, this.o.batchSize, this.o.ann);
    this.o.logger?.info({ version, items: index.size, ms: this.o.now() - started }, 'ANN index built');
    // A graph that cannot be saved still serves; the next start rebuilds it.
    await this.files?.save(stamp, index, this.o.ann).catch((err: unknown) => this.o.logger?.warn({ err, version }, 'could not save the ANN index'));
    return index;
  }
}
