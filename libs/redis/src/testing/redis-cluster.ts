// A throwaway Redis Cluster on loopback for tests and benches: `masters` redis-server
// processes (cluster mode, no persistence) in a temporary directory, joined with
// `redis-cli --cluster create`, ready once every node reports cluster_state:ok.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running throwaway Redis Cluster. */
export interface RedisCluster {
  /** `host:port` of every master. */
  readonly nodes: readonly string[];
  /** Seed URLs, comma-separated: what FEATURE_SERVER_REDIS_URL takes with FEATURE_SERVER_REDIS_CLUSTER. */
  readonly url: string;
  /** Kills the servers and removes their directory. */
  stop(): Promise<void>;
}

/** Whether `port` and its cluster bus port (port + 10000) can both be bound on 127.0.0.1 now. */
async function free(port: number): Promise<boolean> {
  const tryBind = (p: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  return (await tryBind(port)) && (await tryBind(port + 10_000));
}

// Both a node's port and its bus port (+10000) stay below the kernel's ephemeral range
// (32768 and up by default), so an outgoing connection cannot take one meanwhile.
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 200) throw new Error('redis cluster: no free port pair in 12000-22767');
    const p = 12_000 + Math.floor(Math.random() * 10_768);
    if (!ports.includes(p) && (await free(p))) ports.push(p);
  }
  return ports;
}

function cli(args: string[]): string {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw new Error(`redis cluster: redis-cli: ${r.error.message} (install redis-tools)`);
  return `${r.stdout}${r.stderr}`;
}

/** Starts a cluster of `masters` nodes (at least 3, Redis's minimum) with no replicas; tries new ports up to three times. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(masters);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

async function startOnce(masters: number): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const ports = await freePorts(masters);
  const procs: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    }),
  );
  let spawnError: Error | undefined;
  for (const p of procs) p.once('error', (err) => (spawnError ??= new Error(`redis cluster: cannot run redis-server: ${err.message} (install redis-server)`)));
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await waitFor('the servers to answer', () => {
      if (spawnError) throw spawnError;
      const gone = procs.find((p) => p.exitCode !== null);
      if (gone) throw new Error(`redis cluster: redis-server exited (${gone.exitCode}); port taken?`);
      return ports.every((p) => cli(['-p', String(p), 'ping']).includes('PONG'));
    }, 10_000);
    const created = cli(['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    if (!created.includes('[OK] All 16384 slots covered')) throw new Error(`redis cluster: create failed: ${created.slice(-500)}`);
    await waitFor('cluster_state:ok on every node', () => ports.every((p) => cli(['-p', String(p), 'cluster', 'info']).includes('cluster_state:ok')));
    return { nodes, url: nodes.map((n) => `redis://${n}`).join(','), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
