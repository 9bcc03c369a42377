import { join } from 'node:path';
import { VectorFileWriter } from '@pinrank/contracts';
import { type SnapshotRecord } from '../snapshots/snapshot-record';

/** A deterministic pseudo-random unit vector (test data). */
export function unitVector(seed: number, dimension: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const v = new Float32Array(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
    norm += (v[i] as number) ** 2;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimension; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/** Vectors keyed by id. */
export type Vectors = Array<[id: string, vector: Float32Array]>;

/** What {@link writeSnapshot} writes. */
export interface SnapshotSpec {
  /** Version label. */
  version: string;
  /** User vectors. */
  users: Vectors;
  /** Item-tower vectors. */
  items: Vectors;
  /** Base version of an incremental snapshot. Default null. */
  baseVersion?: string | null;
  /** Producing model version. Default "pf-1". */
  producerModelVersion?: string;
}

async function writeFile(path: string, kind: 'user' | 'item_tower' | 'item_content', spec: Omit<SnapshotSpec, 'users' | 'items'>, vectors: Vectors, extra: number[] = []): Promise<void> {
  const writer = await VectorFileWriter.open(path, {
    kind,
    version: spec.version,
    dimension: vectors[0]?.[1].length ?? 64,
    count: vectors.length,
    producerModel: kind === 'item_content' ? 'catalog' : 'pinnerformer',
    producerModelVersion: spec.producerModelVersion ?? 'pf-1',
    asOfDate: '2026-11-27',
    baseVersion: spec.baseVersion ?? null,
    createdAtMs: 1_780_000_000_000,
    extraFields: kind === 'item_content' ? ['primary_topic', 'popularity'] : [],
  });
  for (const [id, v] of vectors) await writer.write(id, v, kind === 'item_content' ? extra : []);
  await writer.close();
}

/** Writes a snapshot's user and item-tower files into `dir`; returns their paths. */
export async function writeSnapshot(dir: string, spec: SnapshotSpec): Promise<{ userFile: string; itemFile: string }> {
  const userFile = join(dir, `users-${spec.version}.prvec`);
  const itemFile = join(dir, `items-${spec.version}.prvec`);
  await writeFile(userFile, 'user', spec, spec.users);
  await writeFile(itemFile, 'item_tower', spec, spec.items);
  return { userFile, itemFile };
}

/** Writes an item catalog (content vectors) into `dir`; returns its path. */
export async function writeCatalog(dir: string, name: string, items: Vectors): Promise<string> {
  const path = join(dir, `catalog-${name}.prvec`);
  await writeFile(path, 'item_content', { version: name, producerModelVersion: 'catalog-1' }, items, [1, 0.5]);
  return path;
}

/** `n` vectors with ids `<prefix><i>` whose first value is `marker` (so a test can tell versions apart). */
export function markedVectors(prefix: string, n: number, dimension: number, marker: number, seed = 0): Vectors {
  return Array.from({ length: n }, (_, i) => {
    const v = unitVector(seed + i + 1, dimension);
    v[0] = marker;
    return [`${prefix}${i}`, v];
  });
}

/** A snapshot record as a load leaves it (READY by default), for tests of the registry and leases. */
export function snapshotRecord(version: string, seq: number, overrides: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    version,
    status: 'ready',
    progress: 1,
    error: '',
    producerModel: 'pinnerformer',
    producerModelVersion: 'pf-1',
    asOfDate: '2026-11-27',
    userCount: 10,
    itemCount: 10,
    dimension: 64,
    baseVersion: null,
    createdAtMs: 1_780_000_000_000,
    startedAtMs: 1_780_000_000_000 + seq,
    loadedAtMs: 1_780_000_000_100 + seq,
    seq,
    ...overrides,
  };
}
