import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import {
  EmbeddingStoreClient,
  FeatureServerClient,
  GRPCInferenceServiceClient,
  ListSnapshotsRequest,
  LoadSnapshotRequest,
  RankerClient,
  SnapshotState,
} from '@pinrank/proto';
import { writeWorld, type WorldManifest } from '@pinrank/sim';
import { runEmbedJob } from '../../src/embed/embed-job';
import { withEphemeralPorts } from '../../src/stack/ephemeral-ports';
import { localStackServices } from '../../src/stack/local-stack';
import { ManagedProcess, type ServiceSpec } from '../../src/stack/managed-process';
import { call } from './grpc-call';

/** Repository root (models/, apps/). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/** The five processes, by their stack names. */
export type ServiceName = 'embedding-store' | 'feature-server' | 'gpu-worker' | 'cpu-worker' | 'router';

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
  /** Forward the services' log lines to stderr (default: only when PINRANK_STACK_LOGS=1). */
  logs?: boolean;
}

/** A running five-process stack on free ports, with its data in a temporary directory. */
export interface ServiceStack {
  dir: string;
  worldDir: string;
  manifest: WorldManifest;
  /** The item catalog (`primary_topic`, `popularity` extra fields). */
  catalogFile: string;
  /** The stack's own model repository (a copy the workers and router read). */
  modelRepository: string;
  adminToken: string;
  /** Snapshot "a" (five days before the last) is loaded and active at start; "b" (the last day) is computed but not loaded. */
  snapshots: { a: FixtureSnapshot; b: FixtureSnapshot };
  address: Record<ServiceName, string>;
  ranker: RankerClient;
  featureServer: FeatureServerClient;
  embeddingStore: EmbeddingStoreClient;
  gpuWorker: GRPCInferenceServiceClient;
  cpuWorker: GRPCInferenceServiceClient;
  /** Last log lines per service (for failure messages). */
  logTail(name: ServiceName): string[];
  /** SIGTERM to every process (router first), waits, closes clients, removes the directory. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
const START_TIMEOUT_MS = 240_000;

async function waitActive(es: EmbeddingStoreClient, version: string, token: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(es.listSnapshots.bind(es), ListSnapshotsRequest.fromPartial({}), { token });
    const snap = res.snapshots.find((s) => s.version === version);
    if (snap?.state === SnapshotState.SNAPSHOT_STATE_FAILED) throw new Error(`snapshot ${version} failed: ${snap.error}`);
    if (res.activeVersion === version) return;
    if (Date.now() > until) throw new Error(`snapshot ${version} not active within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Loads a snapshot through the admin API (optionally activating it) and waits until it is READY or active. */
export async function loadSnapshot(stack: Pick<ServiceStack, 'embeddingStore' | 'adminToken'>, snap: FixtureSnapshot, activate: boolean): Promise<void> {
  const es = stack.embeddingStore;
  await call(es.loadSnapshot.bind(es), LoadSnapshotRequest.fromPartial({ userFile: snap.userFile, itemFile: snap.itemFile, activate }), { token: stack.adminToken });
  if (activate) return waitActive(es, snap.version, stack.adminToken, 60_000);
  const until = Date.now() + 60_000;
  for (;;) {
    const res = await call(es.listSnapshots.bind(es), ListSnapshotsRequest.fromPartial({}), { token: stack.adminToken });
    const state = res.snapshots.find((s) => s.version === snap.version)?.state;
    if (state === SnapshotState.SNAPSHOT_STATE_READY) return;
    if (state === SnapshotState.SNAPSHOT_STATE_FAILED || Date.now() > until) throw new Error(`snapshot ${snap.version} did not become READY`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the real stack for the service-level suite: a small simulated world
 * and two PinnerFormer snapshots in a temporary directory, a copy of the model
 * repository, the five processes on free loopback ports (from their sources,
 * so the code under test is what runs), snapshot "a" loaded and active.
 */
export async function startServiceStack(o: StackFixtureOptions = {}): Promise<ServiceStack> {
  const host = '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'pinrank-service-level-'));
  const running: ManagedProcess[] = [];
  const tails = new Map<string, string[]>();
  const showLogs = o.logs ?? process.env['PINRANK_STACK_LOGS'] === '1';
  const onLog = (name: string, line: string): void => {
    const tail = tails.get(name) ?? [];
    tail.push(line);
    if (tail.length > 40) tail.shift();
    tails.set(name, tail);
    if (showLogs) process.stderr.write(`[${name}] ${line}\n`);
  };
  const clients: Array<{ close(): void }> = [];
  const stop = async (): Promise<void> => {
    for (const c of clients) c.close();
    for (const p of [...running].reverse()) await p.stop(15_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const worldDir = join(dir, 'world');
    const manifest = await writeWorld(worldDir, { seed: o.seed ?? 7, users: o.users ?? 150, items: o.items ?? 800, days: o.days ?? 10 });
    const modelRepository = join(dir, 'models');
    await cp(o.modelSource ?? join(REPO_ROOT, 'models'), modelRepository, { recursive: true });
    if (o.modelOverlay) await cp(o.modelOverlay, modelRepository, { recursive: true });
    const lastDay = Math.floor((manifest.endMs - 1) / DAY_MS) * DAY_MS;
    const embed = async (label: string, dayMs: number): Promise<FixtureSnapshot> => {
      const asOfDate = new Date(dayMs).toISOString().slice(0, 10);
      const r = await runEmbedJob({ worldDir, modelRoot: modelRepository, outDir: join(dir, 'snapshots'), asOfDate, version: `${asOfDate}.${label}`, threads: 1 });
      if (!r.itemFile) throw new Error('embed job wrote no item file');
      return { version: r.version, userFile: r.userFile, itemFile: r.itemFile };
    };
    const snapshots = { a: await embed('sl-a', lastDay - 5 * DAY_MS), b: await embed('sl-b', lastDay) };

    const adminToken = randomBytes(16).toString('hex');
    const base = localStackServices({ root: REPO_ROOT, dataDir: dir, host, basePort: 50050, adminToken });
    const tuned = base.services.map(
      (s): ServiceSpec => ({
        ...s,
        fromSource: true,
        env: {
          ...s.env,
          LOG_LEVEL: 'warn',
          ...(s.app === 'ranker'
            ? {
                RANKER_MODEL_REPOSITORY: modelRepository,
                RANKER_INTRA_OP_THREADS: '1',
                RANKER_WATCH_INTERVAL_MS: '300',
                RANKER_WATCH_DEBOUNCE_MS: '300',
                // Two shared, loaded cores: generous budgets so no request degrades for lack of CPU.
                RANKER_DEFAULT_DEADLINE_MS: '20000',
                RANKER_SEQUENCE_TIMEOUT_MS: '10000',
                RANKER_EMBEDDINGS_TIMEOUT_MS: '10000',
              }
            : {}),
          ...o.env,
          ...(s.name.endsWith('-worker') ? o.workerEnv : {}),
        },
      }),
    );
    const services = await withEphemeralPorts(tuned, host);
    const byName = new Map(services.map((s) => [s.name as ServiceName, s]));
    const spec = (name: ServiceName): ServiceSpec => {
      const s = byName.get(name);
      if (!s) throw new Error(`no service ${name}`);
      return s;
    };
    const startOne = async (name: ServiceName): Promise<void> => {
      const p = new ManagedProcess(spec(name), REPO_ROOT, onLog);
      running.push(p);
      try {
        await p.waitServing(START_TIMEOUT_MS);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${(tails.get(name) ?? []).join('\n')}`, { cause: err });
      }
    };
    const address = Object.fromEntries([...byName].map(([n, s]) => [n, s.address])) as Record<ServiceName, string>;
    const insecure = credentials.createInsecure();
    const embeddingStore = new EmbeddingStoreClient(address['embedding-store'], insecure);
    const featureServer = new FeatureServerClient(address['feature-server'], insecure);
    const gpuWorker = new GRPCInferenceServiceClient(address['gpu-worker'], insecure);
    const cpuWorker = new GRPCInferenceServiceClient(address['cpu-worker'], insecure);
    const ranker = new RankerClient(address.router, insecure);
    clients.push(embeddingStore, featureServer, gpuWorker, cpuWorker, ranker);

    await startOne('embedding-store');
    await loadSnapshot({ embeddingStore, adminToken }, snapshots.a, true);
    await Promise.all([startOne('feature-server'), startOne('gpu-worker'), startOne('cpu-worker')]);
    await startOne('router');
    return {
      dir,
      worldDir,
      manifest,
      catalogFile: join(worldDir, manifest.files.catalog),
      modelRepository,
      adminToken,
      snapshots,
      address,
      ranker,
      featureServer,
      embeddingStore,
      gpuWorker,
      cpuWorker,
      logTail: (name) => [...(tails.get(name) ?? [])],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
