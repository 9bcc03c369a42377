import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeWorld, type WorldManifest } from '@pinrank/sim';
import { runEmbedJob } from '../embed/embed-job';

const DAY_MS = 86_400_000;

/** The data a local stack serves: a simulated world and one snapshot computed from it. */
export interface StackData {
  worldDir: string;
  manifest: WorldManifest;
  snapshotVersion: string;
  userFile: string;
  itemFile: string;
  /** Simulated time that "now" corresponds to: the live replay starts here. */
  liveFromMs: number;
}

/** Options of prepareStackData. */
export interface PrepareOptions {
  dataDir: string;
  modelRoot: string;
  seed: number;
  users?: number;
  items?: number;
  days?: number;
  /** Fraction of the simulated period that is history; the rest is replayed live. */
  historyFraction: number;
  log: (line: string) => void;
  onProgress?: (phase: string, done: number, total: number) => void;
}

/**
 * Makes sure the stack's data exists, generating what is missing (cached under
 * `dataDir`): the world (`pinrank simulate`) and a PinnerFormer snapshot as of
 * the day before the live replay starts (`pinrank embed`).
 */
export async function prepareStackData(o: PrepareOptions): Promise<StackData> {
  const worldDir = join(o.dataDir, 'world');
  if (!existsSync(join(worldDir, 'world.json'))) {
    o.log(`generating the simulated world (seed ${o.seed}) in ${worldDir} …`);
    await writeWorld(worldDir, { seed: o.seed, users: o.users, items: o.items, days: o.days }, { onProgress: o.onProgress });
  }
  const manifest = JSON.parse(await readFile(join(worldDir, 'world.json'), 'utf8')) as WorldManifest;
  const span = manifest.endMs - manifest.startMs;
  const liveFromMs = manifest.startMs + Math.floor((span * o.historyFraction) / DAY_MS) * DAY_MS;
  const asOfDate = new Date(liveFromMs - 1).toISOString().slice(0, 10);
  const snapRoot = join(o.dataDir, 'snapshots');
  const snapshotVersion = `${asOfDate}.pf-local`;
  const userFile = join(snapRoot, snapshotVersion, 'users.vec');
  const itemFile = join(snapRoot, snapshotVersion, 'items.vec');
  if (!existsSync(userFile) || !existsSync(itemFile)) {
    o.log(`computing PinnerFormer snapshot ${snapshotVersion} …`);
    await runEmbedJob({ worldDir, modelRoot: o.modelRoot, outDir: snapRoot, asOfDate, version: snapshotVersion, onProgress: o.onProgress });
  }
  return { worldDir, manifest, snapshotVersion, userFile, itemFile, liveFromMs };
}
