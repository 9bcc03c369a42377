// A throwaway redis-server on loopback that speaks TLS only: its certificate, the CA it
// verifies clients against, optionally required client certificates and an ACL user.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAnswers } from '@pinrank/service-kit';

/** Options of {@link startTlsRedis}. */
export interface TlsRedisOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Require a client certificate signed by `caFile` (`tls-auth-clients yes`); default true. */
  requireClientCert?: boolean;
  /** An ACL user besides `default` (which is then turned off), with all rights on every key. */
  user?: { name: string; password: string };
}

/** A running TLS-only Redis. */
export interface TlsRedis {
  readonly port: number;
  /** `rediss://127.0.0.1:<port>`. */
  readonly url: string;
  /** Kills the server (as a crash would); `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}



/** Starts it and waits until it accepts connections. */
export async function startTlsRedis(o: TlsRedisOptions): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  const port = await freePort();
  const conf = join(dir, 'redis.conf');
  const lines = [
    'port 0',
    `tls-port ${port}`,
    'bind 127.0.0.1',
    `tls-cert-file ${o.certFile}`,
    `tls-key-file ${o.keyFile}`,
    `tls-ca-cert-file ${o.caFile}`,
    `tls-auth-clients ${(o.requireClientCert ?? true) ? 'yes' : 'no'}`,
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    ...(o.user ? [`user ${o.user.name} on >${o.user.password} ~* &* +@all`, 'user default off'] : []),
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let proc: ChildProcess | undefined;
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  const start = async (): Promise<void> => {
    if (proc) return;
    const p = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let log = '';
    let spawnError: Error | undefined;
    p.once('error', (err) => (spawnError = new Error(`tls redis: cannot run redis-server: ${err.message}`)));
    p.stdout?.on('data', (b: Buffer) => void (log = (log + b.toString()).slice(-3000)));
    const end = Date.now() + 15_000;
    for (;;) {
      if (spawnError) throw spawnError;
      if (p.exitCode !== null) throw new Error(`tls redis: redis-server exited (${p.exitCode}): ${log.slice(-1000)}`);
      if (await portAnswers(port)) return;
      if (Date.now() > end) throw new Error(`tls redis: not accepting connections on ${port} after 15 s: ${log.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url: `rediss://127.0.0.1:${port}`, kill, start, stop };
}
