import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readVectorFile, readVectorFileHeader } from '@pinrank/contracts';
import { parseItemId, parseUserId } from '@pinrank/sim';

const DAY_MS = 86_400_000;

/** One loaded snapshot: user and item-tower vectors as of the end of `asOfDate`. */
interface Snapshot {
  version: string;
  /** Start of the day after `asOfDate` (epoch ms): the first impression day allowed to use it. */
  usableFromMs: number;
  users: Map<number, Float32Array>;
  items: Float32Array;
  hasItem: Uint8Array;
}

/**
 * PinnerFormer snapshots (`<dir>/<version>/users.vec` + `items.vec`, as the
 * batch embedding job writes them) with a lookup that only ever returns a
 * snapshot from a day strictly before the impression's day, so no vector
 * carries information from the impression's day or later.
 */
export class PfSnapshots {
  private constructor(
    private readonly snapshots: Snapshot[],
    /** Vector width. */
    readonly dimension: number,
    /** The PinnerFormer model version that produced every snapshot. */
    readonly pinnerformerVersion: string,
  ) {}

  /** Snapshot versions, oldest first. */
  get versions(): string[] {
    return this.snapshots.map((s) => s.version);
  }

  /**
   * Loads every snapshot of `dir`. Thrown by: no snapshot, snapshots of
   * different PinnerFormer versions or widths, unreadable files (Error).
   */
  static async load(dir: string, users: number, items: number): Promise<PfSnapshots> {
    const snaps: Snapshot[] = [];
    let dimension = 0;
    let pfVersion: string | undefined;
    for (const v of (await readdir(dir)).sort()) {
      const usersPath = join(dir, v, 'users.vec');
      const itemsPath = join(dir, v, 'items.vec');
      if (!(await exists(usersPath)) || !(await exists(itemsPath))) continue;
      const h = await readVectorFileHeader(usersPath);
      if (pfVersion !== undefined && (h.producerModelVersion !== pfVersion || h.dimension !== dimension))
        throw new Error(`snapshot ${v} comes from pinnerformer ${h.producerModelVersion} (${h.dimension}-d), others from ${pfVersion} (${dimension}-d)`);
      pfVersion = h.producerModelVersion;
      dimension = h.dimension;
      const userVecs = new Map<number, Float32Array>();
      for await (const r of readVectorFile(usersPath)) userVecs.set(parseUserId(r.id, users), Float32Array.from(r.vector));
      const itemVecs = new Float32Array(items * dimension);
      const hasItem = new Uint8Array(items);
      for await (const r of readVectorFile(itemsPath)) {
        const i = parseItemId(r.id, items);
        itemVecs.set(r.vector, i * dimension);
        hasItem[i] = 1;
      }
      snaps.push({ version: v, usableFromMs: Date.parse(`${h.asOfDate}T00:00:00Z`) + DAY_MS, users: userVecs, items: itemVecs, hasItem });
    }
    if (!pfVersion) throw new Error(`no PinnerFormer snapshots (users.vec + items.vec) under ${dir}; write them with \`pinrank embed\``);
    snaps.sort((a, b) => a.usableFromMs - b.usableFromMs);
    return new PfSnapshots(snaps, dimension, pfVersion);
  }

  /** The newest snapshot whose day ends before the day of `timeMs`, or undefined. */
  snapshotFor(timeMs: number): { version: string; usableFromMs: number } | undefined {
    const dayStart = Math.floor(timeMs / DAY_MS) * DAY_MS;
    let found: Snapshot | undefined;
    for (const s of this.snapshots) if (s.usableFromMs <= dayStart) found = s;
    return found;
  }

  /**
   * Writes the user vector (zeros when missing) into `userOut` and the item
   * vectors into `itemOut` (row per item) for a request at `timeMs`; returns
   * whether the user vector was missing.
   */
  fill(user: number, itemIdx: readonly number[], timeMs: number, userOut: Float32Array, itemOut: Float32Array): boolean {
    const s = this.snapshotFor(timeMs);
    const D = this.dimension;
    userOut.fill(0);
    itemOut.fill(0);
    if (!s) return true;
    const snap = this.snapshots.find((x) => x.version === s.version) as Snapshot;
    itemIdx.forEach((i, k) => itemOut.set(snap.items.subarray(i * D, (i + 1) * D), k * D));
    const u = snap.users.get(user);
    if (!u) return true;
    userOut.set(u);
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
