// A throwaway redis-server on loopback that speaks TLS only: its certificate, the CA it
// verifies clients against, optionally required client certificates and an ACL user.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portProcess } from '@pinrank/service-kit';

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
  const { kill, start } = portProcess('tls redis', port, () => spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] }), 'install the redis-server package');
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
