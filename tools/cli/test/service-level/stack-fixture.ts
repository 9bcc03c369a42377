import { resolve } from 'node:path';
import { type EmbeddingStoreClient } from '@pinrank/proto';
import { startEphemeralStack, loadStackSnapshot, type EphemeralStack, type StackServiceName } from '../../src/stack/ephemeral-stack';

/** Repository root (models/, apps/). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/** The five processes, by their stack names. */
export type ServiceName = StackServiceName;

/** A snapshot computed for the stack (not necessarily loaded). */
export interface FixtureSnapshot {
  version: string;
  userFile: string;
  itemFile: string;
}

/** Options of {@link startServiceStack}. */
export interface StackFixtureOptions {
  /** World size; defaults 150 users, 800 items, 10 days, seed 7. */
  users?: number;
  items?: number;
  days?: number;
  seed?: number;
  /** Model repository copied into the stack's own (default `<repo>/models`); the workers watch the copy. */
  modelSource?: string;
  /** A second repository copied over the first (e.g. trained `<model>/2` versions); the router serves the highest versions. */
  modelOverlay?: string;
  /** Extra environment for every service (e.g. OTEL_* variables). */
  env?: Record<string, string>;
  /** Extra environment for the two inference workers only. */
  workerEnv?: Record<string, string>;
  /** Extra environment for the router only, over the suite's RANKER_AUTO_CHAIN=false. */
  routerEnv?: Record<string, string>;
  /** Forward the services' log lines to stderr (default: only when PINRANK_STACK_LOGS=1). */
  logs?: boolean;
}

/** A running five-process stack on free ports, with its data in a temporary directory. */
export interface ServiceStack extends Omit<EphemeralStack, 'snapshots'> {
  /** Snapshot "a" (five days before the last) is loaded and active at start; "b" (the last day) is computed but not loaded. */
  snapshots: { a: FixtureSnapshot; b: FixtureSnapshot };
}

/** Loads a snapshot through the admin API (optionally activating it) and waits until it is READY or active. */
export function loadSnapshot(stack: { embeddingStore: EmbeddingStoreClient; adminToken: string }, snap: FixtureSnapshot, activate: boolean): Promise<void> {
  return loadStackSnapshot(stack, snap, activate);
}

/**
 * Starts the real stack for the service-level suite: a small simulated world
 * and two PinnerFormer snapshots in a temporary directory, a copy of the model
 * repository, the five processes on free loopback ports (from their sources,
 * so the code under test is what runs), snapshot "a" loaded and active.
 */
export async function startServiceStack(o: StackFixtureOptions = {}): Promise<ServiceStack> {
  const showLogs = o.logs ?? process.env['PINRANK_STACK_LOGS'] === '1';
  const world = { seed: o.seed ?? 7, users: o.users ?? 150, items: o.items ?? 800, days: o.days ?? 10 };
  const stack = await startEphemeralStack({
    root: REPO_ROOT,
    world: { generate: world },
    models: o.modelSource ?? resolve(REPO_ROOT, 'models'),
    copyModels: true,
    ...(o.modelOverlay ? { modelOverlay: o.modelOverlay } : {}),
    snapshots: [
      { label: 'a', daysBeforeLastDay: 5, version: (day) => `${day}.sl-a` },
      { label: 'b', daysBeforeLastDay: 0, version: (day) => `${day}.sl-b`, load: false },
    ],
    ...(o.env ? { env: o.env } : {}),
    ...(o.workerEnv ? { workerEnv: o.workerEnv } : {}),
    // The suite checks the split a GPU deployment runs (encoder on the GPU-role worker, heads on the CPU
    // one, each with its spans and metrics), also on hosts without a GPU; the observability suite checks
    // `pinrank start`'s chaining on a GPU-role worker that computes on the CPU.
    routerEnv: { RANKER_AUTO_CHAIN: 'false', ...o.routerEnv },
    ...(showLogs ? { onLog: (name: string, line: string) => process.stderr.write(`[${name}] ${line}\n`) } : {}),
  });
  const [a, b] = stack.snapshots;
  if (!a || !b) throw new Error('the stack computed fewer snapshots than planned');
  return { ...stack, snapshots: { a, b } };
}
