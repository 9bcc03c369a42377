import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger } from 'pino';
import { AnnIndex, annIndexDefaults, type AnnIndexOptions } from './ann-index';

/** What a saved graph was built from; a file whose stamp differs is stale and rebuilt. */
export interface IndexStamp {
  /** Snapshot version. */
  version: string;
  /** The load that produced the version's vectors (a label reloaded after eviction gets a new one). */
  seq: number;
  startedAtMs: number;
  /** Indexed vectors and their dimension. */
  itemCount: number;
  dimension: number;
}

interface SavedMeta extends IndexStamp {
  connectivity: number;
  expansionAdd: number;
  quantization: string;
  /** Size and SHA-256 of the graph file: the native reader must never see a damaged file (it does not check). */
  bytes?: number;
  sha256?: string;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const SAFE_NAME = /[^A-Za-z0-9._-]/g;

/**
 * Keeps each snapshot version's ANN graph on local disk next to the store:
 * `<dir>/<version>.usearch` (the graph, memory-mapped when reopened),
 * `<version>.ids` (item ids in graph order, JSON) and `<version>.json` (the stamp).
 * A restart then opens the graph in milliseconds instead of rebuilding it
 * (about a quarter of an hour at 1M items on two cores).
 */
export class AnnIndexCache {
  constructor(
    private readonly dir: string,
    private readonly logger?: Logger,
  ) {}

  private base(version: string): string {
    // Version labels are free text; the file name keeps a readable, safe form plus a hash of the original.
    const hash = createHash('sha256').update(version).digest('hex').slice(0, 12);
    return join(this.dir, `${version.replace(SAFE_NAME, '_')}-${hash}`);
  }

  /** The saved graph of `stamp` with this call's search settings, or undefined when none matches (missing, stale or unreadable). */
  async open(stamp: IndexStamp, options: AnnIndexOptions): Promise<AnnIndex | undefined> {
    const o = annIndexDefaults(options);
    const base = this.base(stamp.version);
    let meta: SavedMeta;
    try {
      meta = JSON.parse(await readFile(`${base}.json`, 'utf8')) as SavedMeta;
    } catch {
      return undefined;
    }
    const want: SavedMeta = { ...stamp, connectivity: o.connectivity, expansionAdd: o.expansionAdd, quantization: o.quantization };
    const stale = (Object.keys(want) as Array<keyof SavedMeta>).filter((k) => meta[k] !== want[k]);
    if (stale.length > 0) {
      this.logger?.info({ version: stamp.version, differs: stale }, 'saved ANN index is stale; rebuilding');
      return undefined;
    }
    try {
      const graph = `${base}.usearch`;
      if ((await stat(graph)).size !== meta.bytes || (await sha256Of(graph)) !== meta.sha256) {
        this.logger?.warn({ version: stamp.version }, 'saved ANN index does not match its checksum; rebuilding');
        return undefined;
      }
      const ids = JSON.parse(await readFile(`${base}.ids`, 'utf8')) as string[];
      return AnnIndex.view(graph, ids, stamp.dimension, o);
    } catch (err) {
      this.logger?.warn({ err, version: stamp.version }, 'saved ANN index is unreadable; rebuilding');
      return undefined;
    }
  }

  /** Saves a built graph for `stamp` (written beside, then renamed into place, the stamp last). */
  async save(stamp: IndexStamp, index: AnnIndex, options: AnnIndexOptions): Promise<void> {
    const o = annIndexDefaults(options);
    const base = this.base(stamp.version);
    await mkdir(this.dir, { recursive: true });
    await rm(`${base}.json`, { force: true });
    index.save(`${base}.usearch.tmp`);
    await rename(`${base}.usearch.tmp`, `${base}.usearch`);
    await writeFile(`${base}.ids.tmp`, JSON.stringify(index.idsInOrder()));
    await rename(`${base}.ids.tmp`, `${base}.ids`);
    const meta: SavedMeta = {
      ...stamp,
      connectivity: o.connectivity,
      expansionAdd: o.expansionAdd,
      quantization: o.quantization,
      bytes: (await stat(`${base}.usearch`)).size,
      sha256: await sha256Of(`${base}.usearch`),
    };
    await writeFile(`${base}.json.tmp`, JSON.stringify(meta));
    await rename(`${base}.json.tmp`, `${base}.json`);
  }

  /** Deletes a version's saved graph (eviction, a failed load). */
  async remove(version: string): Promise<void> {
    const base = this.base(version);
    await Promise.all(['.json', '.ids', '.usearch'].map((ext) => rm(`${base}${ext}`, { force: true })));
  }
}
