import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VectorFileWriter } from '@pinrank/contracts';
import { ActionLogWriter } from './action-log/writer';
import { type ActionLogHeader } from './action-log/format';
import { ActionTable } from './action-table';
import { actionIdPrefix, itemId } from './ids';
import { type WorldOptionsInput } from './options';
import { simulateUser } from './simulate';
import { World } from './world';
import { MANIFEST_FILE, SIM_PRODUCER, type WorldManifest } from './manifest';

/** Phases reported by `onProgress`. */
export type GenerationPhase = 'items' | 'users' | 'sort' | 'write';

/** Options of `generateWorld` and `writeWorld`. */
export interface GenerateOptions {
  /** Called as work progresses: `done` of `total` units of `phase`. */
  onProgress?: (phase: GenerationPhase, done: number, total: number) => void;
  /** Stops between users and between blocks; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A generated world in memory: the world and its actions, with the time order. */
export interface GeneratedWorld {
  /** The world (ground truth). */
  world: World;
  /** All actions, in generation order. */
  table: ActionTable;
  /** Row order by timestamp. */
  order: Uint32Array;
}

const USERS_PER_TICK = 256;

/** Simulates a world's actions in memory (for tests and tools that do not need files). */
export function generateWorld(input: WorldOptionsInput, options: GenerateOptions = {}): GeneratedWorld {
  const world = World.create(input);
  options.onProgress?.('items', 1, 1);
  const expected = Math.ceil(world.users * world.options.days * world.options.sessionsPerDay * 14);
  const table = new ActionTable(Math.min(1 << 24, Math.max(1 << 12, expected)));
  for (let u = 0; u < world.users; u++) {
    if (u % USERS_PER_TICK === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.('users', u, world.users);
    }
    simulateUser(world, u, table);
  }
  options.onProgress?.('users', world.users, world.users);
  const order = table.sortedOrder(world.options.startMs);
  options.onProgress?.('sort', 1, 1);
  return { world, table, order };
}

/** The action log header of a world. */
export function actionLogHeaderOf(world: World): ActionLogHeader {
  const { options } = world;
  return {
    format: 1,
    producer: SIM_PRODUCER,
    seed: options.seed,
    users: options.users,
    items: options.items,
    startMs: options.startMs,
    endMs: world.endMs,
    actionIdPrefix: actionIdPrefix(options.seed),
    params: { ...options },
  };
}

/** Options of `writeWorld`. */
export interface WriteWorldOptions extends GenerateOptions {
  /** Gzip the action log (`actions.prlog.gz`). Default false. */
  gzip?: boolean;
}

/**
 * Generates a world and writes it to `dir`: the item catalog (`items.vec`,
 * kind item_content), the action log (`actions.prlog`) and `world.json`.
 * The same options produce the same bytes.
 */
export async function writeWorld(dir: string, input: WorldOptionsInput, options: WriteWorldOptions = {}): Promise<WorldManifest> {
  const { world, table, order } = generateWorld(input, options);
  const { options: o, items } = world;
  await mkdir(dir, { recursive: true });
  const asOfDate = new Date(world.endMs - 1).toISOString().slice(0, 10);
  const catalogFile = 'items.vec';
  const catalog = await VectorFileWriter.open(join(dir, catalogFile), {
    kind: 'item_content',
    version: `sim-s${o.seed}`,
    dimension: o.dimension,
    count: o.items,
    producerModel: 'catalog',
    producerModelVersion: SIM_PRODUCER,
    asOfDate,
    createdAtMs: world.endMs,
    extraFields: ['primary_topic', 'popularity'],
  });
  const extra = new Float32Array(2);
  for (let i = 0; i < o.items; i++) {
    extra[0] = items.primaryTopic[i] as number;
    extra[1] = items.popularity[i] as number;
    await catalog.write(itemId(i), items.vectors.subarray(i * o.dimension, (i + 1) * o.dimension), extra);
  }
  const catalogResult = await catalog.close();

  const actionsFile = options.gzip ? 'actions.prlog.gz' : 'actions.prlog';
  const log = await ActionLogWriter.open(join(dir, actionsFile), actionLogHeaderOf(world), { gzip: options.gzip ?? false });
  const chunk = 1 << 16;
  try {
    for (let k = 0; k < order.length; k += chunk) {
      options.signal?.throwIfAborted();
      const part = order.subarray(k, Math.min(order.length, k + chunk));
      await log.writeColumns(table, part);
      options.onProgress?.('write', k + part.length, order.length);
    }
  } catch (err) {
    await log.abort();
    throw err;
  }
  const logResult = await log.close();
  options.onProgress?.('write', order.length, order.length);

  const byType = { impression: 0, click: 0, save: 0, closeup: 0, hide: 0 };
  const names = ['', 'impression', 'click', 'save', 'closeup', 'hide'] as const;
  for (let k = 0; k < table.length; k++) {
    const name = names[table.actionType[k] as number];
    if (name) byType[name]++;
  }
  const manifest: WorldManifest = {
    format: 1,
    producer: SIM_PRODUCER,
    seed: o.seed,
    startMs: o.startMs,
    endMs: world.endMs,
    options: o,
    files: { catalog: catalogFile, actions: actionsFile },
    counts: { users: o.users, items: o.items, actions: table.length, byType },
    checksums: { catalog: catalogResult.checksum, actions: logResult.checksum },
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
