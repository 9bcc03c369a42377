// A loopback stack for the ranker benchmarks: embedding-store, feature-server,
// a GPU-role and a CPU-role worker and routers, each its own process, over synthetic data.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { VectorFileWriter } from '@pinrank/contracts';
import { SeededRandom } from '@pinrank/models';
import {
  ActionType,
  EmbeddingStoreClient,
  FeatureServerClient,
  IngestActionsRequest,
  ListSnapshotsRequest,
  LoadSnapshotRequest,
  UserAction,
  type IngestActionsResponse,
} from '@pinrank/proto';
import { builtEntry, callUnary, createClient, freePort as kitFreePort, repoRoot } from '@pinrank/service-kit';

/** The repository root, found from this file's folder (in the sources or in a bench's bundle). */
export const ROOT = repoRoot();
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const ADMIN_TOKEN = 'bench-admin';

/** Deterministic uniform numbers in [0, 1) (`SeededRandom` of `@pinrank/models`). */
export function prng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

function unitVector(rand: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let j = 0; j < dim; j++) {
    v[j] = rand() * 2 - 1;
    norm += (v[j] ?? 0) ** 2;
  }
  for (let j = 0; j < dim; j++) v[j] = (v[j] ?? 0) / Math.sqrt(norm);
  return v;
}

const handedOut = new Set<number>();

/**
 * A free loopback port (the service kit's choice, outside the kernel's
 * ephemeral range; never the same one twice in this process).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kitFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Synthetic data sizes. */
export interface StackData {
  items: number;
  users: number;
  actionsPerUser: number;
  pinnerformerVersion: string;
}

/** How one process of the stack was started, so it can be started again. */
interface ProcessSpec {
  entry: string;
  env: Record<string, string>;
  args: string[];
  root: string;
  nodeArgs: string[];
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) of every live process, and each one's parent, from /proc (Linux); empty elsewhere. */
function processTable(): Map<number, { ppid: number; cpuS: number }> {
  const table = new Map<number, { ppid: number; cpuS: number }>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return table;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at its closing parenthesis.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(pid), { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / USER_HZ });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** CPU seconds used so far by `pid` and its descendants (tsx runs the script in a child process). */
function treeCpuSeconds(pid: number, table: Map<number, { ppid: number; cpuS: number }>): number {
  let total = table.get(pid)?.cpuS ?? 0;
  for (const [child, p] of table) if (p.ppid === pid) total += treeCpuSeconds(child, table);
  return total;
}

/** Processes started by the stack, stopped by `stop()`. */
export class Stack {
  readonly procs: ChildProcess[] = [];
  readonly itemIds: string[] = [];
  readonly userIds: string[] = [];
  dir = '';
  private stopping = false;
  private readonly byName = new Map<string, { child: ChildProcess; spec: ProcessSpec }>();
  featureServer = '';
  embeddingStore = '';

  /**
   * `processGroups`: each process leads its own process group, so
   * {@link Stack.kill9} takes the tsx wrapper and the service it runs together.
   */
  constructor(private readonly o: { processGroups?: boolean } = {}) {}

  /**
   * Starts `entry` (a .ts file under `root`, default this checkout) with tsx
   * (in `--built` mode: its bundle with node) and `env`. Another root runs
   * that checkout's code (e.g. the previous release's router, for an A/B in
   * one run); it needs its own node_modules.
   * `nodeArgs` go to node (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry).
   */
  async start(name: string, entry: string, env: Record<string, string>, args: string[] = [], root = ROOT, nodeArgs: string[] = []): Promise<void> {
    this.spawn(name, { entry, env, args, root, nodeArgs });
  }

  /**
   * The variables every bench router gets: its address, this stack's feature-server and
   * embedding-store, the two worker pools, the model repository and the sequence length,
   * and a minute to find its workers healthy.
   */
  routerEnv(o: { address: string; gpu: string; cpu: string; models: string; sequenceLength: number }): Record<string, string> {
    return {
      RANKER_ADDR: o.address,
      RANKER_FEATURE_SERVER: this.featureServer,
      RANKER_EMBEDDING_STORE: this.embeddingStore,
      RANKER_GPU_WORKERS: o.gpu,
      RANKER_CPU_WORKERS: o.cpu,
      RANKER_MODEL_REPOSITORY: o.models,
      RANKER_SEQUENCE_LENGTH: String(o.sequenceLength),
      RANKER_STARTUP_HEALTH_WAIT_MS: '60000',
    };
  }

  /** Kills a process started as `name` with SIGKILL (its whole process group with `processGroups`) and waits for its exit. */
  async kill9(name: string): Promise<void> {
    await this.signalAndWait(name, 'SIGKILL');
  }

  /**
   * Stops a process started as `name` with SIGTERM (its whole process group with `processGroups`), as a
   * rolling restart or `kubectl delete pod` does, and waits for it to exit (SIGKILL after `killAfterMs`).
   * Resolves with the milliseconds it took to exit.
   */
  terminate(name: string, killAfterMs = 60_000): Promise<number> {
    return this.signalAndWait(name, 'SIGTERM', killAfterMs);
  }

  /** Sends `sig` to `name` (its process group with `processGroups`), SIGKILL after `killAfterMs`; ms until it exited (0 if it was not running). */
  private async signalAndWait(name: string, sig: NodeJS.Signals, killAfterMs = Infinity): Promise<number> {
    const p = this.byName.get(name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return 0;
    const started = performance.now();
    const exited = new Promise<void>((done) => p.child.once('exit', () => done()));
    const signal = (s: NodeJS.Signals): void => {
      if (this.o.processGroups && p.child.pid !== undefined) process.kill(-p.child.pid, s);
      else p.child.kill(s);
    };
    signal(sig);
    const timer = Number.isFinite(killAfterMs) ? setTimeout(() => signal('SIGKILL'), killAfterMs) : undefined;
    await exited;
    clearTimeout(timer);
    return performance.now() - started;
  }

  /** Starts `name` again as it was first started (same ports, data and variables). */
  restart(name: string): void {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no process named ${name}`);
    this.spawn(name, p.spec);
  }

  private spawn(name: string, spec: ProcessSpec): void {
    // `--built`: the entry's bundle, as deployed (bundled once per entry and root), run by node itself.
    const bundle = builtEntry(spec.root, spec.entry, ROOT);
    const [command, args] = bundle ? [process.execPath, [...spec.nodeArgs, bundle, ...spec.args]] : [TSX, [...spec.nodeArgs, join(spec.root, spec.entry), ...spec.args]];
    const child = spawn(command, args, {
      cwd: spec.root,
      env: { ...process.env, LOG_LEVEL: 'warn', OTEL_TRACES_EXPORTER: 'none', ...spec.env },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: this.o.processGroups === true,
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping && this.byName.get(name)?.child === child && (code !== 0 || signal !== null)) process.stderr.write(`${name} exited (${code ?? signal})\n`);
    });
    this.procs.push(child);
    this.byName.set(name, { child, spec });
  }

  /** CPU seconds used so far by each started process (with its children), by name; Linux only (empty elsewhere). */
  cpuSeconds(): Record<string, number> {
    const table = processTable();
    const out: Record<string, number> = {};
    for (const [name, { child }] of this.byName) if (child.pid !== undefined) out[name] = treeCpuSeconds(child.pid, table);
    return out;
  }

  /** Writes the catalog and the snapshot, starts embedding-store and feature-server, loads and ingests the data. */
  async startUpstreams(d: StackData): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'ranker-bench-'));
    const rand = prng(7);
    for (let i = 0; i < d.items; i++) this.itemIds.push(`item-${i}`);
    for (let u = 0; u < d.users; u++) this.userIds.push(`user-${u}`);
    const header = { version: 'bench-1', producerModel: 'pinnerformer', producerModelVersion: d.pinnerformerVersion, asOfDate: '2026-11-27', createdAtMs: Date.now() };
    const catalog = await VectorFileWriter.open(join(this.dir, 'catalog.prvec'), {
      ...header,
      version: 'catalog-1',
      kind: 'item_content',
      dimension: 32,
      count: d.items,
      extraFields: ['primary_topic', 'popularity'],
    });
    for (let i = 0; i < d.items; i++) await catalog.write(this.itemIds[i] ?? '', unitVector(rand, 32), [i % 16, 1 / (1 + i) ** 0.7]);
    await catalog.close();
    const items = await VectorFileWriter.open(join(this.dir, 'items.prvec'), { ...header, kind: 'item_tower', dimension: 64, count: d.items });
    for (const id of this.itemIds) await items.write(id, unitVector(rand, 64));
    await items.close();
    const users = await VectorFileWriter.open(join(this.dir, 'users.prvec'), { ...header, kind: 'user', dimension: 64, count: d.users });
    for (const id of this.userIds) await users.write(id, unitVector(rand, 64));
    await users.close();

    const esPort = await freePort();
    this.embeddingStore = `127.0.0.1:${esPort}`;
    await this.start('embedding-store', 'apps/embedding-store/src/main.ts', {
      EMBEDDING_STORE_ADDR: this.embeddingStore,
      EMBEDDING_STORE_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
      EMBEDDING_STORE_LMDB_PATH: join(this.dir, 'es-lmdb'),
      EMBEDDING_STORE_CATALOG_FILE: join(this.dir, 'catalog.prvec'),
      PINRANK_ADMIN_TOKENS: ADMIN_TOKEN,
    });
    const es = createClient(EmbeddingStoreClient, this.embeddingStore);
    const admin = new Metadata();
    admin.set('authorization', `Bearer ${ADMIN_TOKEN}`);
    await waitFor(() => callUnary(es.listSnapshots.bind(es), ListSnapshotsRequest.fromPartial({}), { timeoutMs: 1000, retry: false }), 60_000);
    await callUnary(
      es.loadSnapshot.bind(es),
      LoadSnapshotRequest.fromPartial({ userFile: join(this.dir, 'users.prvec'), itemFile: join(this.dir, 'items.prvec'), activate: true }),
      { timeoutMs: 30_000, metadata: admin },
    );
    await waitFor(async () => {
      const res = await callUnary(es.listSnapshots.bind(es), ListSnapshotsRequest.fromPartial({}), { timeoutMs: 1000 });
      if (res.activeVersion !== 'bench-1') throw new Error(`active version "${res.activeVersion}"`);
    }, 60_000);
    es.close();

    this.featureServer = `127.0.0.1:${await freePort()}`;
    await this.start('feature-server', 'apps/feature-server/src/main.ts', {
      FEATURE_SERVER_ADDR: this.featureServer,
      FEATURE_SERVER_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
      FEATURE_SERVER_LMDB_PATH: join(this.dir, 'fs-lmdb'),
      FEATURE_SERVER_EMBEDDING_STORE_ADDR: this.embeddingStore,
    });
    const fs = createClient(FeatureServerClient, this.featureServer);
    await waitFor(() => this.ingest(fs, []), 60_000);
    const now = Date.now();
    const types = [ActionType.ACTION_TYPE_CLICK, ActionType.ACTION_TYPE_SAVE, ActionType.ACTION_TYPE_CLOSEUP, ActionType.ACTION_TYPE_HIDE];
    const actions: UserAction[] = [];
    for (const userId of this.userIds) {
      for (let k = 0; k < d.actionsPerUser; k++) {
        actions.push(
          UserAction.fromPartial({
            actionId: `${userId}-${k}`,
            userId,
            itemId: this.itemIds[Math.floor(rand() * d.items)] ?? '',
            actionType: types[Math.floor(rand() * types.length)] ?? ActionType.ACTION_TYPE_CLICK,
            timestampMs: now - 60_000 - k * 90_000,
          }),
        );
      }
    }
    const res = await this.ingest(fs, actions);
    if (res.accepted !== actions.length) throw new Error(`ingest accepted ${res.accepted} of ${actions.length}: ${JSON.stringify(res.rejections.slice(0, 3))}`);
    fs.close();
  }

  private ingest(fs: FeatureServerClient, actions: UserAction[]): Promise<IngestActionsResponse> {
    return new Promise((resolveIngest, reject) => {
      const call = fs.ingestActions((err, res) => (err ? reject(err) : resolveIngest(res)));
      for (let i = 0; i < actions.length; i += 1000) call.write(IngestActionsRequest.fromPartial({ actions: actions.slice(i, i + 1000) }));
      call.end();
    });
  }

  /** Stops every process this stack started and removes its data. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((done) => {
            if (p.exitCode !== null || p.signalCode !== null) return done();
            p.once('exit', () => done());
            p.kill('SIGTERM');
            setTimeout(() => {
              if (this.o.processGroups && p.pid !== undefined) {
                try {
                  process.kill(-p.pid, 'SIGKILL');
                } catch {
                  // already gone
                }
              } else p.kill('SIGKILL');
            }, 5000).unref();
          }),
      ),
    );
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Retries `fn` every 200 ms until it resolves or `ms` pass. */
export async function waitFor<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
