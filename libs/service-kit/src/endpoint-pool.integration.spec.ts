import { FeatureServerClient, FeatureServerService, GetRealtimeSequenceRequest, HealthCheckResponse_ServingStatus as ServingStatus, RealtimeSequence } from '@pinrank/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callUnary } from './client';
import { EndpointPool } from './endpoint-pool';
import { ensureLocalPki } from './pki/local-pki';
import { startServer, type RunningServer } from './server';
import { defineService } from './service';
import { captureLogger, waitFor } from './test-helpers';

const SERVICE = 'pinrank.v1.FeatureServer';

// Each server answers with its own name, so the test sees which endpoint served a call.
async function namedServer(name: string): Promise<RunningServer> {
  return startServer({
    name,
    address: '127.0.0.1:0',
    signals: [],
    logger: captureLogger().logger,
    services: [defineService(FeatureServerService, { getRealtimeSequence: async () => RealtimeSequence.fromPartial({ userId: name }) })],
  });
}

let a: RunningServer;
let b: RunningServer;
const pools: EndpointPool<FeatureServerClient>[] = [];
beforeEach(async () => {
  a = await namedServer('a');
  b = await namedServer('b');
});
afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  await Promise.all([a.shutdown(), b.shutdown()]);
});

async function served(pool: EndpointPool<FeatureServerClient>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await pool.call((c) => callUnary(c.getRealtimeSequence.bind(c), GetRealtimeSequenceRequest.fromPartial({ userId: 'u' }), { retry: false }));
    out.push(res.userId);
  }
  return out;
}

const allServing = (pool: EndpointPool<FeatureServerClient>, n: number) => () =>
  pool.endpoints().filter((e) => e.status === ServingStatus.SERVING).length === n;

describe('EndpointPool', () => {
  it('verifies the certificates of endpoints resolved from a DNS name against that name, not the pod address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-tls-'));
    // The server's certificate names the Service only, as cert-manager's do: no IP address.
    const pki = ensureLocalPki({ dir, identities: [{ name: 'workers', dnsNames: ['workers.pinrank.test'] }, { name: 'caller' }] });
    const secure = await startServer({
      name: 'secure',
      address: '127.0.0.1:0',
      signals: [],
      logger: captureLogger().logger,
      tls: { ...pki.files('workers'), clientCaFile: pki.caFile },
      services: [defineService(FeatureServerService, { getRealtimeSequence: async () => RealtimeSequence.fromPartial({ userId: 'tls' }) })],
    });
    try {
      const pool = await EndpointPool.create({
        client: FeatureServerClient,
        healthService: SERVICE,
        tls: { caFile: pki.caFile, ...pki.files('caller') },
        source: { kind: 'dns', host: 'workers.pinrank.test', port: secure.port, resolve: async () => ['127.0.0.1'] },
      });
      pools.push(pool);
      await waitFor(allServing(pool, 1));
      expect(await served(pool, 2)).toEqual(['tls', 'tls']);
    } finally {
      await secure.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a SERVING endpoint usable while the server recycles connections (max connection age)', async () => {
    const short = await startServer({
      name: 'recycling',
      address: '127.0.0.1:0',
      signals: [],
      logger: captureLogger().logger,
      maxConnectionAgeMs: 400,
      maxConnectionAgeGraceMs: 100,
      services: [defineService(FeatureServerService, { getRealtimeSequence: async () => RealtimeSequence.fromPartial({ userId: 'r' }) })],
    });
    try {
      const pool = await EndpointPool.create({ client: FeatureServerClient, healthService: SERVICE, source: { kind: 'static', addresses: [`127.0.0.1:${short.port}`] } });
      pools.push(pool);
      await waitFor(allServing(pool, 1));
      const seen: ServingStatus[] = [];
      const off = pool.onChange(() => seen.push(...pool.endpoints().map((e) => e.status)));
      // Several connection lifetimes: every Watch is cut, and each is re-opened without the endpoint leaving SERVING.
      const until = Date.now() + 2000;
      let calls = 0;
      while (Date.now() < until) {
        expect(await served(pool, 1)).toEqual(['r']);
        calls++;
        await new Promise((r) => setTimeout(r, 50));
      }
      off();
      expect(calls).toBeGreaterThan(10);
      expect(seen.filter((st) => st !== ServingStatus.SERVING)).toEqual([]);
    } finally {
      await short.shutdown();
    }
  });

  it('stops sending to an endpoint that reports NOT_SERVING and resumes when it recovers', async () => {
    const pool = await EndpointPool.create({
      client: FeatureServerClient,
      healthService: SERVICE,
      source: { kind: 'static', addresses: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] },
    });
    pools.push(pool);
    await waitFor(allServing(pool, 2));
    expect(new Set(await served(pool, 6))).toEqual(new Set(['a', 'b']));

    a.setServing(false, SERVICE);
    await waitFor(allServing(pool, 1));
    expect(new Set(await served(pool, 6))).toEqual(new Set(['b']));

    a.setServing(true, SERVICE);
    await waitFor(allServing(pool, 2));
    expect(new Set(await served(pool, 6))).toEqual(new Set(['a', 'b']));
  });

  it('answers UNAVAILABLE naming the endpoint states when none is serving', async () => {
    const pool = await EndpointPool.create({
      client: FeatureServerClient,
      healthService: SERVICE,
      source: { kind: 'static', addresses: [`127.0.0.1:${a.port}`] },
    });
    pools.push(pool);
    await waitFor(allServing(pool, 1));
    a.setServing(false);
    await waitFor(allServing(pool, 0));
    expect(() => pool.pick()).toThrow(/no serving endpoint for pinrank.v1.FeatureServer \(127.0.0.1:\d+=NOT_SERVING\)/);
  });

  it('follows DNS re-resolution: adds new addresses and drops vanished ones', async () => {
    // An injected resolver stands in for a headless Service's A records; nothing
    // listens on 127.0.0.2, which is enough to see endpoints come and go.
    let records = ['127.0.0.1'];
    const pool = await EndpointPool.create({
      client: FeatureServerClient,
      healthService: SERVICE,
      source: { kind: 'dns', host: 'feature-server.test', port: a.port, intervalMs: 50, resolve: async () => records },
    });
    pools.push(pool);
    await waitFor(allServing(pool, 1));
    expect(pool.endpoints().map((e) => e.address)).toEqual([`127.0.0.1:${a.port}`]);
    records = ['127.0.0.1', '127.0.0.2'];
    await waitFor(() => pool.endpoints().length === 2);
    records = ['127.0.0.2'];
    await waitFor(() => pool.endpoints().length === 1);
    expect(pool.endpoints().map((e) => e.address)).toEqual([`127.0.0.2:${a.port}`]);
  });
});
