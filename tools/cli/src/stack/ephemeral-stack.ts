import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import {
  EmbeddingStoreClient,
  FeatureServerClient,
  GRPCInferenceServiceClient,
  ListSnapshotsRequest,
  LoadSnapshotRequest,
  RankerClient,
  SnapshotState,
  type ListSnapshotsResponse,
} from '@pinrank/proto';
import { type ClientTlsOptions } from '@pinrank/service-kit';
import { MANIFEST_FILE, writeWorld, type WorldManifest } from '@pinrank/sim';
import { runEmbedJob } from '../embed/embed-job';
import { openClient } from '../remote/call';
import { moveToFreshPorts, portClash, withEphemeralPorts } from './ephemeral-ports';
import { localStackServices } from './local-stack';
import { ManagedProcess, type ServiceSpec } from './managed-process';
import { ensureStackPki, stackClientTls } from './stack-pki';

/** The five processes of a stack, by name. */
export type StackServiceName = 'embedding-store' | 'feature-server' | 'gpu-worker' | 'cpu-worker' | 'router';

/** A snapshot to compute for the stack with the batch embedding job. */
export interface SnapshotPlan {
  /** Short name the caller uses for it (e.g. `fresh`, `stale`). */
  label: string;
  /** Embedding day, YYYY-MM-DD (vectors describe the end of that day); or give `daysBeforeLastDay`. */
  asOfDate?: string;
  /** Embedding day as days before the world's last simulated day (0 = the last day). */
  daysBeforeLastDay?: number;
  /** Version label in embedding-store, or a function of the embedding day (default: `label`). */
  version?: string | ((asOfDate: string) => string);
  /** Load it into embedding-store at start (default true; the first plan is always loaded and activated). */
  load?: boolean;
}

/** A snapshot the stack computed. */
export interface ComputedSnapshot {
  label: string;
  version: string;
  asOfDate: string;
  userFile: string;
  itemFile: string;
  /** Whether it was loaded into embedding-store at start. */
  loaded: boolean;
}

/** The world a stack serves: an existing directory, or one generated into the stack's directory. */
export type StackWorld = { dir: string } | { generate: { seed: number; users: number; items: number; days: number } };

/** Options of {@link startEphemeralStack}. */
export interface EphemeralStackOptions {
  /** Repository root (apps/, models/, proto/). */
  root: string;
  world: StackWorld;
  /** Model repository (default `<root>/models`). */
  models?: string;
  /** Copy the model repository into the stack's directory (workers watch the copy) instead of reading it in place (default true). */
  copyModels?: boolean;
  /** A second repository copied over the copy (e.g. trained `<model>/2` versions); implies copying. */
  modelOverlay?: string;
  /** Snapshots to compute (at least one); the first is loaded and activated, the others loaded (READY) unless `load: false`. */
  snapshots: readonly SnapshotPlan[];
  /** Extra environment for the router only (e.g. the experiment configuration). */
  routerEnv?: Record<string, string>;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Extra environment for the two inference workers only. */
  workerEnv?: Record<string, string>;
  /** Receives every log line of every service. */
  onLog?: (service: string, line: string) => void;
  /** Progress of the preparation (world generation, embedding). */
  onProgress?: (phase: string, done: number, total: number) => void;
  /** Milliseconds each service may take to report SERVING (default 240 000). */
  startTimeoutMs?: number;
}

/** A running five-process stack on free loopback ports, with its data in a temporary directory. */
export interface EphemeralStack {
  /** The stack's temporary directory (removed by `stop`). */
  dir: string;
  worldDir: string;
  manifest: WorldManifest;
  /** The item catalog of the world. */
  catalogFile: string;
  /** The model repository the workers and router read. */
  modelRepository: string;
  adminToken: string;
  /** The computed snapshots, in the order planned. */
  snapshots: ComputedSnapshot[];
  address: Record<StackServiceName, string>;
  /** host:port of each service's /metrics. */
  metricsAddress: Record<StackServiceName, string>;
  /**
   * Clients over mutual TLS (every service enforces its policy): `ranker`
   * presents the operators' certificate; the feature-server, embedding-store
   * and worker clients the router's (the identity that reads them); `producer`
   * the action producer's (the one that may ingest).
   */
  ranker: RankerClient;
  featureServer: FeatureServerClient;
  producer: FeatureServerClient;
  embeddingStore: EmbeddingStoreClient;
  gpuWorker: GRPCInferenceServiceClient;
  cpuWorker: GRPCInferenceServiceClient;
  /** TLS presenting one of the stack's identities (services' and clients', see SERVICE_IDENTITIES). */
  clientTls(identity: string): ClientTlsOptions;
  /** Last log lines of a service (for failure messages). */
  logTail(name: StackServiceName): string[];
  /** The process of a service: its pid and whether it still runs (crash and resource checks). */
  process(name: StackServiceName): { pid: number | undefined; running: boolean };
  /** Closes the clients, sends SIGTERM to every process (router first), waits, removes the directory. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
const LOG_TAIL = 40;

/** The YYYY-MM-DD of the day `daysBefore` days before a world's last simulated day. */
export function snapshotDay(manifest: Pick<WorldManifest, 'endMs'>, daysBefore: number): string {
  const lastDay = Math.floor((manifest.endMs - 1) / DAY_MS) * DAY_MS;
  return new Date(lastDay - daysBefore * DAY_MS).toISOString().slice(0, 10);
}

function listSnapshots(es: EmbeddingStoreClient, token: string): Promise<ListSnapshotsResponse> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return new Promise((res, rej) =>
    es.listSnapshots(ListSnapshotsRequest.fromPartial({}), md, { deadline: new Date(Date.now() + 20_000) }, (err: ServiceError | null, r) =>
      err ? rej(new Error(`embedding-store: list snapshots failed: ${err.details || err.message}`, { cause: err })) : res(r),
    ),
  );
}

/**
 * Loads a snapshot through embedding-store's admin API and waits until it is
 * active (`activate`) or READY; rejects when it fails or takes over `timeoutMs`.
 */
export async function loadStackSnapshot(
  stack: { embeddingStore: EmbeddingStoreClient; adminToken: string },
  snap: { version: string; userFile: string; itemFile: string },
  activate: boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const es = stack.embeddingStore;
  const md = new Metadata();
  md.set('authorization', `Bearer ${stack.adminToken}`);
  await new Promise<void>((res, rej) =>
    es.loadSnapshot(
      LoadSnapshotRequest.fromPartial({ userFile: snap.userFile, itemFile: snap.itemFile, activate }),
      md,
      { deadline: new Date(Date.now() + 20_000) },
      (err: ServiceError | null) => (err ? rej(new Error(`embedding-store refused snapshot ${snap.version}: ${err.details || err.message}`, { cause: err })) : res()),
    ),
  );
  const until = Date.now() + timeoutMs;
  for (;;) {
    const list = await listSnapshots(es, stack.adminToken);
    const s = list.snapshots.find((x) => x.version === snap.version);
    if (s?.state === SnapshotState.SNAPSHOT_STATE_FAILED) throw new Error(`snapshot ${snap.version} failed to load: ${s.error}`);
    if (activate ? list.activeVersion === snap.version : s?.state === SnapshotState.SNAPSHOT_STATE_READY || list.activeVersion === snap.version) return;
    if (Date.now() > until) throw new Error(`snapshot ${snap.version} was not ${activate ? 'active' : 'READY'} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Router settings for a shared, loaded machine: generous stage budgets so no request degrades for lack of CPU. */
const RELAXED_ROUTER_ENV: Record<string, string> = {
  RANKER_INTRA_OP_THREADS: '1',
  RANKER_WATCH_INTERVAL_MS: '300',
  RANKER_WATCH_DEBOUNCE_MS: '300',
  RANKER_DEFAULT_DEADLINE_MS: '20000',
  RANKER_SEQUENCE_TIMEOUT_MS: '10000',
  RANKER_EMBEDDINGS_TIMEOUT_MS: '10000',
};

/** Starts of one service, each on fresh ports, while its port turns out taken by another process. */
const PORT_CLASH_ATTEMPTS = 3;

/**
 * Starts the real stack on free loopback ports, from the apps' sources: a
 * world (existing or generated), a model repository (copied or in place), the
 * planned PinnerFormer snapshots computed with the batch embedding job, the
 * five processes, the first snapshot active and the others loaded.
 */
export async function startEphemeralStack(o: EphemeralStackOptions): Promise<EphemeralStack> {
  const first = o.snapshots[0];
  if (!first) throw new Error('startEphemeralStack: plan at least one snapshot');
  const host = '127.0.0.1';
  const root = resolve(o.root);
  const dir = await mkdtemp(join(tmpdir(), 'pinrank-stack-'));
  const running: ManagedProcess[] = [];
  const tails = new Map<string, string[]>();
  const onLog = (name: string, line: string): void => {
    const tail = tails.get(name) ?? [];
    tail.push(line);
    if (tail.length > LOG_TAIL) tail.shift();
    tails.set(name, tail);
    o.onLog?.(name, line);
  };
  const clients: Array<{ close(): void }> = [];
  const stop = async (): Promise<void> => {
    for (const c of clients) c.close();
    for (const p of [...running].reverse()) await p.stop(15_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let worldDir: string;
    let manifest: WorldManifest;
    if ('dir' in o.world) {
      worldDir = resolve(o.world.dir);
      try {
        manifest = JSON.parse(await readFile(join(worldDir, MANIFEST_FILE), 'utf8')) as WorldManifest;
      } catch (cause) {
        throw new Error(`${worldDir} holds no readable ${MANIFEST_FILE}; write a world with \`pinrank simulate\``, { cause });
      }
    } else {
      worldDir = join(dir, 'world');
      manifest = await writeWorld(worldDir, o.world.generate, o.onProgress ? { onProgress: o.onProgress } : {});
    }
    const source = resolve(o.models ?? join(root, 'models'));
    let modelRepository = source;
    if ((o.copyModels ?? true) || o.modelOverlay) {
      modelRepository = join(dir, 'models');
      await cp(source, modelRepository, { recursive: true });
      if (o.modelOverlay) await cp(o.modelOverlay, modelRepository, { recursive: true });
    }

    const snapshots: ComputedSnapshot[] = [];
    for (const [k, plan] of o.snapshots.entries()) {
      const asOfDate = plan.asOfDate ?? (plan.daysBeforeLastDay !== undefined ? snapshotDay(manifest, plan.daysBeforeLastDay) : undefined);
      if (asOfDate === undefined) throw new Error(`snapshot ${plan.label}: give asOfDate or daysBeforeLastDay`);
      const version = typeof plan.version === 'function' ? plan.version(asOfDate) : (plan.version ?? plan.label);
      const r = await runEmbedJob({
        worldDir,
        modelRoot: modelRepository,
        outDir: join(dir, 'snapshots'),
        asOfDate,
        version,
        threads: 1,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
      if (!r.itemFile) throw new Error(`embedding job for snapshot ${version} wrote no item file`);
      snapshots.push({ label: plan.label, version: r.version, asOfDate: r.asOfDate, userFile: r.userFile, itemFile: r.itemFile, loaded: k === 0 || plan.load !== false });
    }

    const catalogFile = join(worldDir, manifest.files.catalog);
    const adminToken = randomBytes(16).toString('hex');
    const pki = ensureStackPki(dir, host);
    const base = localStackServices({ root, dataDir: dir, host, basePort: 50050, adminToken, pki });
    const tuned = base.services.map(
      (s): ServiceSpec => ({
        ...s,
        fromSource: true,
        env: {
          ...s.env,
          LOG_LEVEL: 'warn',
          // The world's catalog wherever it lives: item content vectors (embedding-store) and the popularity fallback (router).
          ...(s.app === 'embedding-store' ? { EMBEDDING_STORE_MODEL_ROOT: modelRepository, EMBEDDING_STORE_CATALOG_FILE: catalogFile } : {}),
          ...(s.app === 'ranker' ? { RANKER_MODEL_REPOSITORY: modelRepository, ...RELAXED_ROUTER_ENV } : {}),
          ...(s.name === 'router' ? { RANKER_CATALOG_PATH: catalogFile } : {}),
          ...o.env,
          ...(s.name.endsWith('-worker') ? o.workerEnv : {}),
          ...(s.name === 'router' ? o.routerEnv : {}),
        },
      }),
    );
    let services = await withEphemeralPorts(tuned, host);
    const specOf = (name: StackServiceName): ServiceSpec => {
      const spec = services.find((s) => s.name === name);
      if (!spec) throw new Error(`the local stack has no service ${name}`);
      return spec;
    };
    // Services start in dependency order (embedding-store; feature-server and the workers; the router), so a
    // service that could not bind because another process took its port between the choice and the bind
    // (parallel test processes choose from the same range) can move to fresh ports: nothing running names it yet.
    const startOne = async (name: StackServiceName): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const p = new ManagedProcess(specOf(name), root, onLog);
        running.push(p);
        try {
          await p.waitServing(o.startTimeoutMs ?? 240_000);
          return;
        } catch (err) {
          const tail = tails.get(name) ?? [];
          if (attempt < PORT_CLASH_ATTEMPTS && portClash(tail)) {
            await p.stop(15_000);
            running.splice(running.indexOf(p), 1);
            tails.delete(name);
            services = await moveToFreshPorts(services, name, host);
            continue;
          }
          throw new Error(`${(err as Error).message}\n${tail.join('\n')}`, { cause: err });
        }
      }
    };
    const clientTls = (identity: string): ClientTlsOptions => stackClientTls(pki, identity);
    const asRouter = clientTls(SERVICE_IDENTITIES.router);

    await startOne('embedding-store');
    const embeddingStore = openClient(EmbeddingStoreClient, specOf('embedding-store').address, asRouter);
    clients.push(embeddingStore);
    const [active, ...rest] = snapshots as [ComputedSnapshot, ...ComputedSnapshot[]];
    await loadStackSnapshot({ embeddingStore, adminToken }, active, true);
    for (const s of rest) if (s.loaded) await loadStackSnapshot({ embeddingStore, adminToken }, s, false);
    await Promise.all([startOne('feature-server'), startOne('gpu-worker'), startOne('cpu-worker')]);
    await startOne('router');
    // The addresses are final once every service is SERVING.
    const address = Object.fromEntries(services.map((s) => [s.name, s.address])) as Record<StackServiceName, string>;
    const metricsAddress = Object.fromEntries(services.map((s) => [s.name, s.metricsAddress])) as Record<StackServiceName, string>;
    const featureServer = openClient(FeatureServerClient, address['feature-server'], asRouter);
    const producer = openClient(FeatureServerClient, address['feature-server'], clientTls(SERVICE_IDENTITIES.producer));
    const gpuWorker = openClient(GRPCInferenceServiceClient, address['gpu-worker'], asRouter);
    const cpuWorker = openClient(GRPCInferenceServiceClient, address['cpu-worker'], asRouter);
    const ranker = openClient(RankerClient, address.router, clientTls(SERVICE_IDENTITIES.operator));
    clients.push(featureServer, producer, gpuWorker, cpuWorker, ranker);
    return {
      dir,
      worldDir,
      manifest,
      catalogFile,
      modelRepository,
      adminToken,
      snapshots,
      address,
      metricsAddress,
      ranker,
      featureServer,
      producer,
      embeddingStore,
      gpuWorker,
      cpuWorker,
      clientTls,
      logTail: (name) => [...(tails.get(name) ?? [])],
      process: (name) => {
        const p = running.find((r) => r.spec.name === name);
        return { pid: p?.pid, running: p?.running ?? false };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
