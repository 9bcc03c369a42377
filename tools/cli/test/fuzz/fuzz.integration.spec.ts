// The fuzz suite: a few thousand seeded hostile requests over every public
// RPC of every process of the real stack. No answer may be INTERNAL or
// UNKNOWN, no call may hang past its deadline, every process must still be
// SERVING afterwards, and no process may grow its memory without bound.
// PINRANK_FUZZ_CASES and PINRANK_FUZZ_SEED change the run (defaults 3000 and 22).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { HealthCheckRequest, HealthCheckResponse_ServingStatus, HealthClient } from '@pinrank/proto';
import { openClient } from '../../src/remote/call';
import { itemId, userId } from '@pinrank/sim';
import { type StackServiceName } from '../../src/stack/ephemeral-stack';
import { startServiceStack, REPO_ROOT, type ServiceStack } from '../service-level/stack-fixture';
import { RawClient } from './fuzz-client';
import { FUZZ_TARGETS, registryProblems, type FuzzContext } from './fuzz-registry';
import { generateCases, runCases } from './fuzz-runner';
import { ProtoSchema } from './proto-schema';

const CASES = Number(process.env['PINRANK_FUZZ_CASES'] ?? 3000);
const SEED = Number(process.env['PINRANK_FUZZ_SEED'] ?? 22);
const USERS = 80;
const ITEMS = 400;
const PROCESSES: readonly StackServiceName[] = ['embedding-store', 'feature-server', 'gpu-worker', 'cpu-worker', 'router'];

let stack: ServiceStack;
const clients = new Map<string, RawClient>();

/**
 * The stack runs with mutual TLS and its authorization policies: each call
 * presents an identity that may call the method, so hostile bytes reach the
 * handlers (the producer ingests, the router infers, the operator — admin —
 * calls the rest). Cases with an admin token still carry it.
 */
function identityFor(path: string): string {
  if (path.endsWith('/IngestActions')) return SERVICE_IDENTITIES.producer;
  if (path.startsWith('/inference.')) return SERVICE_IDENTITIES.router;
  return SERVICE_IDENTITIES.operator;
}

function clientFor(process: StackServiceName, path: string): RawClient {
  const identity = identityFor(path);
  const key = `${process}|${identity}`;
  let c = clients.get(key);
  if (!c) clients.set(key, (c = new RawClient(stack.address[process], stack.clientTls(identity))));
  return c;
}

beforeAll(async () => {
  stack = await startServiceStack({ users: USERS, items: ITEMS, days: 7 });
}, 600_000);

afterAll(async () => {
  for (const c of clients.values()) c.close();
  await stack?.stop();
}, 120_000);

/** Resident memory of a process, from /proc (Linux). */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

function serving(address: string): Promise<boolean> {
  const client = openClient(HealthClient, address, stack.clientTls(SERVICE_IDENTITIES.operator));
  return new Promise<boolean>((resolve) =>
    client.check(HealthCheckRequest.fromPartial({ service: '' }), new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (err, res) =>
      resolve(!err && res.status === HealthCheckResponse_ServingStatus.SERVING),
    ),
  ).finally(() => client.close());
}

it('every RPC is in the fuzz registry', () => {
  expect(registryProblems()).toEqual([]);
});

it(`${CASES} hostile requests (seed ${SEED}): no INTERNAL or UNKNOWN, no hang, every process SERVING, memory bounded`, async () => {
  const context: FuzzContext = {
    users: Array.from({ length: USERS }, (_, k) => userId(k)),
    items: Array.from({ length: ITEMS }, (_, k) => itemId(k)),
    nowMs: stack.manifest.endMs,
  };
  const strings = [
    ...context.users.slice(0, 20),
    ...context.items.slice(0, 40),
    ...['transact_encoder', 'ranking_heads', 'ranking_heads_lite', 'pinnerformer', 'pinnerformer_item', '1', '2', '3'],
    ...[stack.snapshots.a.version, stack.snapshots.b.version, 'save', 'click', 'hide', 'FP32', 'INT64', 'BOOL', 'encoded', 'seq_action_types', 'cand_user_idx'],
    ...['pinrank.v1.Ranker', 'inference.GRPCInferenceService', 'grpc.health.v1.Health', '/etc/passwd', '../../models'],
  ];
  const before = new Map(PROCESSES.map((p) => [p, rssMb(stack.process(p).pid)]));
  const cases = generateCases({
    seed: SEED,
    count: CASES,
    targets: FUZZ_TARGETS,
    schema: new ProtoSchema(join(REPO_ROOT, 'proto')),
    context,
    dictionary: { strings, nowMs: context.nowMs },
    adminToken: stack.adminToken,
  });
  const report = await runCases(cases, clientFor, { concurrency: 6, deadlineMs: 30_000 });
  const after = new Map(PROCESSES.map((p) => [p, rssMb(stack.process(p).pid)]));
  process.stdout.write(
    `fuzz: ${report.cases} cases over ${Object.keys(report.perMethod).length} methods; statuses ${JSON.stringify(report.statuses)}; kinds ${JSON.stringify(report.kinds)}\n` +
      `fuzz: RSS MB before→after ${PROCESSES.map((p) => `${p} ${before.get(p)!.toFixed(0)}→${after.get(p)!.toFixed(0)}`).join(', ')}\n` +
      `fuzz: slowest ${JSON.stringify(report.slowest)}\n` +
      `fuzz: refusals per method ${JSON.stringify(report.refusals)}\n`,
  );

  expect(report.serverErrors).toEqual([]);
  expect(report.hangs).toEqual([]);
  const paths = new Set(FUZZ_TARGETS.flatMap((t) => t.methods.map((m) => m.path)));
  expect(Object.keys(report.perMethod).sort()).toEqual([...paths].sort());
  for (const p of PROCESSES) {
    expect({ process: p, running: stack.process(p).running }).toEqual({ process: p, running: true });
    expect({ process: p, serving: await serving(stack.address[p]) }).toEqual({ process: p, serving: true });
    expect({ process: p, grewMb: after.get(p)! - before.get(p)! < 1024 }).toEqual({ process: p, grewMb: true });
  }
}, 600_000);
