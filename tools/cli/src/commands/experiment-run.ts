import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { SERVICE_IDENTITIES } from '@pinrank/contracts';
import { repoRoot } from '@pinrank/service-kit';
import { type Command } from 'commander';
import { loadWorld, MANIFEST_FILE, writeWorld } from '@pinrank/sim';
import { summarizeArms } from '../experiment/arm-summary';
import { runClosedLoop, type ClosedLoopProgress, type ClosedLoopResult, type LoopParameters } from '../experiment/closed-loop';
import { pinnedSnapshotVersions, readExperimentConfig } from '../experiment/experiment-config';
import { formatExperimentSummary } from '../experiment/report';
import { checkPinnedSnapshots, chooseStack, collectEnv, collectSnapshot, DEFAULT_SNAPSHOTS, parseSpeedup, type SnapshotSpec } from '../experiment/run-options';
import { type CliIo } from '../io';
import { toJson } from '../remote/table';
import { clientTlsFor } from '../remote/client-tls';
import { startEphemeralStack, type EphemeralStack } from '../stack/ephemeral-stack';
import { intOption, numberOption } from './options';
import { PhaseProgress } from './progress';

/** The loop's parameters come as flags of the same names, except the seed (`--seed-run`; `--seed` is the world's). */
interface ExperimentRunFlags extends Omit<LoopParameters, 'seed'> {
  config: string;
  experiment?: string;
  router?: string;
  featureServer?: string;
  token?: string;
  world?: string;
  data?: string;
  seed: number;
  users: number;
  items: number;
  worldDays: number;
  models?: string;
  snapshot?: SnapshotSpec[];
  routerEnv?: Record<string, string>;
  bootstrap: number;
  seedRun: number;
  out?: string;
  json?: boolean;
  progress: boolean;
  logs?: boolean;
}

const DAY_MS = 86_400_000;

/** A progress bar of the loop on stderr: simulated day, requests, errors, ETA. */
function loopBar(enabled: boolean): { update(p: ClosedLoopProgress): void; stop(): void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  return {
    update: (p) => {
      const day = ((p.simulatedMs - p.period.startMs) / DAY_MS).toFixed(2);
      const days = ((p.period.endMs - p.period.startMs) / DAY_MS).toFixed(0);
      if (!bar) {
        bar = new SingleBar(
          { format: 'run    [{bar}] day {day}/{days} | {value}/{total} requests | {errors} errors | ETA {eta_formatted}', stream: process.stderr, hideCursor: true },
          Presets.shades_classic,
        );
        bar.start(p.planned, 0, { day, days, errors: 0 });
      }
      bar.update(p.done, { day, days, errors: p.errors });
    },
    stop: () => bar?.stop(),
  };
}

/** `pinrank experiment run`: a closed-loop simulated online A/B test through the real stack. */
export function registerExperimentRun(program: Command, io: CliIo): void {
  const experiment = program.command('experiment').description('online experiments: closed-loop simulated A/B tests through the running stack');
  experiment
    .command('run')
    .description('start a stack with an experiment configuration (or use a running one), replay simulated users against it in a closed loop and compare the arms')
    .requiredOption('--config <file>', 'experiment configuration (JSON; the router reads it through RANKER_EXPERIMENTS_FILE)')
    .option('--experiment <name>', 'experiment to group users by when the configuration has several (default: the first)')
    .option('--router <host:port>', 'use this running router instead of starting a stack (needs --feature-server and --world)')
    .option('--feature-server <host:port>', "the running stack's feature-server")
    .option('--token <token>', 'bearer token for the running stack, if it asks for one (default PINRANK_ADMIN_TOKEN)')
    .option('--world <dir>', 'world directory (written by `pinrank simulate`); required with --router')
    .option('--data <dir>', 'where a generated world is cached (default .cache/experiments/<seed>-<users>-<items>-<days>)')
    .option('--seed <n>', 'seed of the generated world', intOption(0, 0xffffffff), 1)
    .option('--users <n>', 'users of the generated world', intOption(1), 2000)
    .option('--items <n>', 'items of the generated world', intOption(2), 5000)
    .option('--world-days <d>', 'simulated days of the generated world (default: the world the shipped models were trained on)', numberOption(1, 3650), 60)
    .option('--models <repo>', 'model repository the stack serves (default: models/)')
    .option('--run-users <n>', 'users in the run, drawn among those with a session in the run period', intOption(1), 200)
    .option('--run-days <d>', "simulated days of the run, from the world's end", numberOption(0.001, 30), 2)
    .option('--k <n>', 'items per Recommend', intOption(1, 1000), 25)
    .option('--candidates <n>', 'retrieved candidates per Recommend', intOption(1, 1000), 100)
    .option('--max-requests-per-user <n>', 'Recommend calls per user over the run at most (0 = no cap)', intOption(0), 0)
    .option('--speedup <x>', '"max" (as fast as the stack answers) or simulated ms per wall ms', parseSpeedup, 'max')
    .option('--concurrency <n>', 'users with a request in flight', intOption(1, 1000), 4)
    .option('--history-days <d>', "days of the run users' logged actions ingested before the run", numberOption(0, 3650), 14)
    .option('--snapshot <label=days>', 'PinnerFormer snapshot computed as of <days> before the run start; repeatable; the first is active (default fresh=0)', collectSnapshot)
    .option('--router-env <KEY=VALUE>', "extra environment for the stack's router; repeatable", collectEnv)
    .option('--bootstrap <n>', 'bootstrap resamples of the intervals', intOption(1, 1_000_000), 1000)
    .option('--seed-run <n>', 'responder salt and run-user sampling seed', intOption(0, 0xffffffff), 1)
    .option('--out <file>', 'write the full results (parameters, per-arm figures, per-user outcomes) as JSON')
    .option('--json', 'print the results as JSON')
    .option('--no-progress', 'do not draw progress bars')
    .option('--logs', "forward the stack's log lines to stderr")
    .action(async (flags: ExperimentRunFlags) => {
      const root = repoRoot();
      const configPath = resolve(flags.config);
      const config = await readExperimentConfig(configPath);
      const choice = chooseStack(flags);
      const snapshots = flags.snapshot ?? [...DEFAULT_SNAPSHOTS];
      if (choice.kind === 'own') checkPinnedSnapshots(pinnedSnapshotVersions(config), snapshots);
      const drawBars = flags.progress && io.errIsTty;
      const phases = new PhaseProgress(drawBars);

      let worldDir: string;
      if (choice.kind === 'attach') worldDir = resolve(choice.world);
      else if (flags.world) worldDir = resolve(flags.world);
      else {
        const data = resolve(flags.data ?? join('.cache', 'experiments', `${flags.seed}-${flags.users}-${flags.items}-${flags.worldDays}`));
        worldDir = join(data, 'world');
        if (!existsSync(join(worldDir, MANIFEST_FILE))) {
          io.err(`generating the world (seed ${flags.seed}, ${flags.users} users, ${flags.items} items, ${flags.worldDays} days) in ${worldDir} …\n`);
          await writeWorld(worldDir, { seed: flags.seed, users: flags.users, items: flags.items, days: flags.worldDays }, { onProgress: (p, d, t) => phases.update(p, d, t) });
          phases.stop();
        }
      }
      const world = await loadWorld(worldDir);

      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      let stack: EphemeralStack | undefined;
      const bar = loopBar(drawBars);
      try {
        let routerAddress: string;
        let featureServerAddress: string;
        if (choice.kind === 'attach') {
          routerAddress = choice.router;
          featureServerAddress = choice.featureServer;
        } else {
          io.err(`starting a stack with ${configPath} (snapshots ${snapshots.map((s) => `${s.label}=${s.daysBefore}`).join(', ')}) …\n`);
          stack = await startEphemeralStack({
            root,
            world: { dir: worldDir },
            models: flags.models ? resolve(flags.models) : join(root, 'models'),
            copyModels: false,
            snapshots: snapshots.map((s) => ({ label: s.label, daysBeforeLastDay: s.daysBefore })),
            routerEnv: { RANKER_EXPERIMENTS_FILE: configPath, ...flags.routerEnv },
            // Arms that pin model versions need workers that load every version, not only the newest.
            ...(config.experiments.some((e) => e.arms.some((a) => a.pinsModels)) ? { workerEnv: { RANKER_VERSION_POLICY: 'latest:16' } } : {}),
            ...(flags.logs ? { onLog: (name: string, line: string) => io.err(`[${name}] ${line}\n`) } : {}),
            onProgress: (p, d, t) => phases.update(p, d, t),
          });
          phases.stop();
          routerAddress = stack.address.router;
          featureServerAddress = stack.address['feature-server'];
          io.err(`stack up: router ${routerAddress}, feature-server ${featureServerAddress}\n`);
        }
        const token = flags.token ?? stack?.adminToken ?? process.env['PINRANK_ADMIN_TOKEN'];
        const { runUsers, runDays, k, candidates, maxRequestsPerUser, speedup, concurrency, historyDays } = flags;
        const loop: LoopParameters = { runUsers, runDays, k, candidates, maxRequestsPerUser, speedup, concurrency, historyDays, seed: flags.seedRun };
        const result: ClosedLoopResult = await runClosedLoop({
          ...loop,
          routerAddress,
          featureServerAddress,
          world,
          ...(token ? { token } : {}),
          tls: stack
            ? { router: stack.clientTls(SERVICE_IDENTITIES.operator), featureServer: stack.clientTls(SERVICE_IDENTITIES.producer) }
            : { router: clientTlsFor({}), featureServer: clientTlsFor({}, SERVICE_IDENTITIES.producer) },
          signal: ac.signal,
          onProgress: (p) => bar.update(p),
          log: (line) => io.err(`${line}\n`),
        });
        bar.stop();
        const summary = summarizeArms(result.users, {
          ...(flags.experiment ? { experiment: flags.experiment } : {}),
          configuredExperiments: config.experiments,
          resamples: flags.bootstrap,
          seed: flags.seedRun,
        });
        const { seed: seedRun, ...loopReport } = loop;
        const parameters = {
          config: configPath,
          configVersion: config.version,
          world: worldDir,
          stack: choice.kind === 'own' ? { kind: 'own', snapshots: stack?.snapshots.map((s) => ({ label: s.label, version: s.version, asOfDate: s.asOfDate })) } : { kind: 'attach', router: routerAddress, featureServer: featureServerAddress },
          period: { start: new Date(result.period.startMs).toISOString(), end: new Date(result.period.endMs).toISOString() },
          // The seed under its flag's name.
          ...loopReport,
          seedRun,
          bootstrap: flags.bootstrap,
        };
        const counts = {
          users: result.users.length,
          planned: result.planned,
          requests: result.requests,
          errors: result.errors,
          retries: result.retries,
          actionsIngested: result.actionsIngested,
          historyIngested: result.historyIngested,
          actionIdPrefix: result.actionIdPrefix,
          wallMs: result.wallMs,
        };
        const report = { parameters, counts, summary, errorSamples: result.errorSamples };
        if (flags.out) await writeFile(resolve(flags.out), toJson({ ...report, users: result.users }));
        if (flags.json) io.out(toJson(report));
        else {
          io.out(
            `${counts.users} users, ${counts.requests} requests (${counts.errors} errors, ${counts.retries} retried after RESOURCE_EXHAUSTED/UNAVAILABLE), ${counts.actionsIngested} actions ingested, ${(counts.wallMs / 1000).toFixed(1)} s\n`,
          );
          io.out(formatExperimentSummary(summary));
          const short = summary.arms.reduce((n, a) => n + a.shortPages, 0);
          if (short > 0) io.out(`note: ${short} responses held fewer items than asked for; the router's degraded flags (see its log) say why\n`);
          for (const e of result.errorSamples) io.out(`error: ${e}\n`);
          if (flags.out) io.out(`full results: ${resolve(flags.out)}\n`);
        }
      } finally {
        bar.stop();
        phases.stop();
        process.removeListener('SIGINT', onSigint);
        await stack?.stop();
      }
    });
}
