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
  const proc: ChildProcess = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let spawnError: Error | undefined;
  proc.once('error', (err) => (spawnError = new Error(`tls redis: cannot run redis-server: ${err.message}`)));
  proc.stdout?.on('data', (b: Buffer) => void (log = (log + b.toString()).slice(-3000)));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 15_000;
  for (;;) {
    if (spawnError) throw spawnError;
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`tls redis: redis-server exited (${proc.exitCode}): ${log.slice(-1000)}`);
    }
    if (await portAnswers(port)) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`tls redis: not accepting connections on ${port} after 15 s: ${log.slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, url: `rediss://127.0.0.1:${port}`, stop };
}
