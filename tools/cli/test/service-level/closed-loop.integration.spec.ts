// The closed-loop online experiment, end to end on the real stack: a small world,
// two arms, a fixed number of Recommend calls per user. Per-arm figures must be
// complete and sane, and the users' reactions must reach feature-server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { GetRealtimeSequenceRequest } from '@pinrank/proto';
import { loadWorld, parseUserId, type LoadedWorld } from '@pinrank/sim';
import { main } from '../../src/cli';
import { METRICS, summarizeArms, type ExperimentSummary } from '../../src/experiment/arm-summary';
import { runClosedLoop, type ClosedLoopResult } from '../../src/experiment/closed-loop';
import { readExperimentConfig } from '../../src/experiment/experiment-config';
import { planUserRequests } from '../../src/experiment/run-plan';
import { startEphemeralStack, type EphemeralStack } from '../../src/stack/ephemeral-stack';
import { call } from './grpc-call';
import { REPO_ROOT } from './stack-fixture';

const K = 10;
const REQUESTS_PER_USER = 4;
const RUN_USERS = 40;
const RUN_DAYS = 6;
const ARMS = ['base', 'no-hide-penalty'];
const CONFIG = {
  version: 'ci-1',
  holdout: { fraction: 0, salt: 'holdout' },
  layers: [
    {
      name: 'ranker',
      experiments: [
        {
          name: 'ci-weights',
          traffic: 1,
          arms: [
            { name: 'base', fraction: 0.5 },
            { name: 'no-hide-penalty', fraction: 0.5, headWeights: { save: 1, click: 0.3, hide: 0 } },
          ],
        },
      ],
    },
  ],
};

let dir: string;
let configPath: string;
let stack: EphemeralStack;
let world: LoadedWorld;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinrank-closed-loop-'));
  configPath = join(dir, 'experiments.json');
  await writeFile(configPath, JSON.stringify(CONFIG, null, 2));
  stack = await startEphemeralStack({
    root: REPO_ROOT,
    world: { generate: { seed: 7, users: 60, items: 800, days: 10 } },
    copyModels: false,
    snapshots: [{ label: 'fresh', daysBeforeLastDay: 0 }],
    routerEnv: { RANKER_EXPERIMENTS_FILE: configPath },
    ...(process.env['PINRANK_STACK_LOGS'] === '1' ? { onLog: (name: string, line: string) => process.stderr.write(`[${name}] ${line}\n`) } : {}),
  });
  world = await loadWorld(stack.worldDir);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

let result: ClosedLoopResult;

describe('closed loop', () => {
  let summary: ExperimentSummary;

  beforeAll(async () => {
    result = await runClosedLoop({
      routerAddress: stack.address.router,
      featureServerAddress: stack.address['feature-server'],
      world,
      runUsers: RUN_USERS,
      runDays: RUN_DAYS,
      k: K,
      candidates: 100,
      maxRequestsPerUser: REQUESTS_PER_USER,
      speedup: 'max',
      concurrency: 4,
      historyDays: 5,
      seed: 1,
      tls: { router: stack.clientTls(SERVICE_IDENTITIES.operator), featureServer: stack.clientTls(SERVICE_IDENTITIES.producer) },
    });
    const config = await readExperimentConfig(configPath);
    summary = summarizeArms(result.users, { configuredExperiments: config.experiments, resamples: 300, seed: 1 });
  }, 120_000);

  it('runs every planned request without errors and ingests history first', () => {
    expect(result.errorSamples).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.users.length).toBeGreaterThan(10);
    expect(result.users.length).toBeLessThanOrEqual(RUN_USERS);
    expect(result.requests).toBe(result.planned);
    expect(result.historyIngested).toBeGreaterThan(0);
  });

  it('reports both arms with complete, sane figures', () => {
    expect(summary.experiment).toBe('ci-weights');
    expect(summary.arms.map((a) => a.arm)).toEqual(ARMS);
    for (const arm of summary.arms) {
      const members = result.users.filter((u) => u.arm === arm.arm || u.assignments.some((a) => a.arm === arm.arm));
      const planned = members.flatMap((u) => planUserRequests(world.world, parseUserId(u.userId, world.world.users), result.period, K, REQUESTS_PER_USER));
      expect(arm.users).toBeGreaterThan(0);
      expect(arm.errors).toBe(0);
      expect(arm.shortPages).toBe(0);
      expect(arm.servedBy['snapshot fresh']).toBe(arm.requests);
      expect(arm.requests).toBe(planned.length);
      // Every page shows k items except a session's short last page.
      expect(arm.impressions).toBe(planned.reduce((n, r) => n + r.size, 0));
      expect(arm.impressions).toBeLessThanOrEqual(arm.requests * K);
      for (const m of METRICS) {
        const e = arm.metrics[m];
        expect(e.value).not.toBeNull();
        expect(e.lo as number).toBeLessThanOrEqual(e.value as number);
        expect(e.hi as number).toBeGreaterThanOrEqual(e.value as number);
        if (m !== 'diversity') {
          expect(e.value as number).toBeGreaterThanOrEqual(0);
          expect(e.value as number).toBeLessThanOrEqual(1);
        }
      }
    }
    expect(summary.arms[1]?.vsReference).not.toBeNull();
  });

  it("feeds the users' reactions back into feature-server", async () => {
    // Bare impressions are stored apart from the sequence: look at the user with the most engagements.
    const engagements = (u: (typeof result.users)[number]): number => u.saves + u.clicks + u.hides;
    const user = [...result.users].sort((a, b) => engagements(b) - engagements(a))[0];
    if (!user || engagements(user) === 0) throw new Error('no run user engaged with anything');
    const fs = stack.featureServer;
    const seq = await call(
      fs.getRealtimeSequence.bind(fs),
      GetRealtimeSequenceRequest.fromPartial({ userId: user.userId, maxLen: 100, asOfMs: result.period.endMs + 3_600_000, includeRecords: true }),
    );
    const ours = seq.records.filter((r) => r.action?.actionId.startsWith(result.actionIdPrefix));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.length).toBeLessThanOrEqual(engagements(user));
    for (const r of ours) {
      expect(Number(r.action?.timestampMs)).toBeGreaterThanOrEqual(result.period.startMs);
      expect(Number(r.action?.timestampMs)).toBeLessThan(result.period.endMs + 3_600_000);
    }
    expect(result.actionsIngested).toBe(result.users.reduce((n, u) => n + u.impressions, 0));
  });
});

describe('pinrank experiments', () => {
  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), errIsTty: false };
    // The stack runs mutual TLS: the command presents the operator certificate of the stack's own folder.
    const code = await main(['node', 'pinrank', 'experiments', ...args, '--addr', stack.address.router, '--tls-dir', join(stack.dir, 'pki')], io);
    return { code, out, err };
  };

  it('lists the arms with the counters of the closed loop, and shows a user\'s assignment', async () => {
    const list = await run('list', '--json');
    expect(list.code).toBe(0);
    const res = JSON.parse(list.out) as { configVersion: string; layers: Array<{ experiments: Array<{ arms: Array<{ name: string; counters: { requests: number } }> }> }> };
    expect(res.configVersion).toBe('ci-1');
    const arms = res.layers[0]?.experiments[0]?.arms ?? [];
    expect(arms.map((a) => a.name)).toEqual(ARMS);
    const byArm = new Map<string, number>();
    for (const u of result.users) byArm.set(u.arm, (byArm.get(u.arm) ?? 0) + u.requests);
    for (const a of arms) expect(Number(a.counters.requests)).toBe(byArm.get(a.name));
    const table = await run('list');
    expect(table.out).toMatch(/ranker\s+ci-weights\s+no-hide-penalty\s+50%\s+weights: save=1 click=0.3 hide=0/);
    const user = result.users[0];
    const assign = await run('assign', user?.userId ?? '');
    expect(assign.out).toContain(`ci-weights`);
    expect(assign.out).toContain(user?.arm ?? '?');
  });
});

describe('pinrank experiment run (options)', () => {
  it('explains an incomplete running-stack choice before starting anything', async () => {
    let err = '';
    const io = { out: () => undefined, err: (t: string) => void (err += t), errIsTty: false };
    const code = await main(['node', 'pinrank', 'experiment', 'run', '--config', configPath, '--router', '127.0.0.1:1'], io);
    expect(code).toBe(1);
    expect(err).toMatch(/--feature-server/);
    err = '';
    expect(await main(['node', 'pinrank', 'experiment', 'run', '--config', configPath, '--snapshot', 'stale'], io)).not.toBe(0);
    expect(err).toMatch(/label=daysBeforeStart/);
  });
});
