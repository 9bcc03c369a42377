import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { type UserAction } from '@pinrank/proto';
import { startCatalogServer, type CatalogServer } from './testing/catalog-server';
import { FeatureTestClient } from './testing/feature-client';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'apps/feature-server/src/main.ts');
const USERS = 10;
const ROUNDS = 4;
const NOW = Date.now();

let dir: string;
let bundle: string;
let catalog: CatalogServer;

/** Bundles the real entry point once (as the build does: npm packages external), so each restart is fast. */
async function bundleMain(outfile: string): Promise<void> {
  const pkg = (await import(join(ROOT, 'package.json'))) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  await build({
    entryPoints: [MAIN],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)],
    tsconfig: join(ROOT, 'tsconfig.base.json'),
    logLevel: 'error',
  });
}

/** Starts the real server binary on the LMDB path and resolves once it logs its port. */
function startChild(lmdbPath: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [bundle], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_PATH: join(ROOT, 'node_modules'),
      PINRANK_PROTO_DIR: join(ROOT, 'proto'),
      FEATURE_SERVER_ADDR: '127.0.0.1:0',
      FEATURE_SERVER_METRICS_ADDR: '127.0.0.1:0',
      FEATURE_SERVER_LMDB_PATH: lmdbPath,
      FEATURE_SERVER_BACKEND: 'lmdb',
      FEATURE_SERVER_EMBEDDING_STORE_ADDR: catalog.address,
      LOG_LEVEL: 'info',
      // No trace collector here: without this the OTLP exporter retries against a closed port.
      OTEL_TRACES_EXPORTER: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolvePort, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => reject(new Error(`feature-server exited (${code}) before ready: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.includes('feature-server ready')) return;
      resolvePort({ child, port: (JSON.parse(line) as { port: number }).port });
    });
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    child.removeAllListeners('exit');
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

const action = (round: number, stream: number, i: number): Partial<UserAction> => ({
  actionId: `r${round}-s${stream}-${i}`,
  userId: `k-u${i % USERS}`,
  itemId: `item-${i % 50}`,
  actionType: 2 + (i % 4),
  timestampMs: NOW - 3_600_000 + round * 10_000 + stream * 100 + i,
  surface: 1,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fs-kill-'));
  bundle = join(dir, 'main.js');
  await bundleMain(bundle);
  catalog = await startCatalogServer(50);
});
afterAll(async () => {
  await catalog.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('durability under kill -9', () => {
  it('never loses an acknowledged action across repeated kill -9 and restart', async () => {
    const lmdbPath = join(dir, 'lmdb');
    const acked = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const { child, port } = await startChild(lmdbPath);
      const client = new FeatureTestClient(`127.0.0.1:${port}`);
      try {
        // Everything acknowledged before the previous kill must be here.
        const seqs = await client.sequences({ userIds: Array.from({ length: USERS }, (_, u) => `k-u${u}`), maxLen: 1000, asOfMs: NOW });
        const present = new Set<string>();
        for (const u of Array.from({ length: USERS }, (_, k) => `k-u${k}`)) {
          const s = await client.sequence({ userId: u, maxLen: 1000, asOfMs: NOW, includeRecords: true });
          for (const r of s.records) present.add(r.action?.actionId ?? '');
        }
        expect(seqs.sequences.reduce((n, s) => n + s.length, 0)).toBe(present.size);
        expect([...acked].filter((id) => !present.has(id))).toEqual([]);

        for (let stream = 0; stream < 3; stream++) {
          const batch = Array.from({ length: 40 }, (_, i) => action(round, stream, i));
          const res = await client.ingest([batch.slice(0, 20), batch.slice(20)]);
          expect(res.accepted).toBe(40);
          for (const a of batch) acked.add(a.actionId as string);
        }
        // A stream still in flight when the process dies: whatever it had is not acknowledged.
        const inflight = client.ingest([Array.from({ length: 40 }, (_, i) => action(round, 9, i))]).catch(() => null);
        await new Promise((r) => setTimeout(r, round * 3));
        await kill9(child);
        const late = await inflight;
        if (late) for (let i = 0; i < 40; i++) acked.add(`r${round}-s9-${i}`);
      } finally {
        client.close();
        if (child.exitCode === null && child.signalCode === null) await kill9(child);
      }
    }
    const { child, port } = await startChild(lmdbPath);
    const client = new FeatureTestClient(`127.0.0.1:${port}`);
    try {
      const present = new Set<string>();
      for (let u = 0; u < USERS; u++) {
        const s = await client.sequence({ userId: `k-u${u}`, maxLen: 1000, asOfMs: NOW, includeRecords: true });
        for (const r of s.records) present.add(r.action?.actionId ?? '');
      }
      expect(acked.size).toBeGreaterThanOrEqual(ROUNDS * 120);
      expect([...acked].filter((id) => !present.has(id))).toEqual([]);
    } finally {
      client.close();
      await kill9(child);
    }
    // Each restart is a real process start; on a loaded machine that takes seconds.
  }, 180_000);
});
