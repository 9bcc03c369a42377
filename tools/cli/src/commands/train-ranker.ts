import type * as TrainModule from '@pinrank/train';
import { type Command, InvalidArgumentError } from 'commander';
import { type CliIo } from '../io';
import { resumeFromCheckpoint, trainingProgress } from './training-progress';
import { intOption, numberOption } from './options';

interface RankerFlags {
  world: string;
  snapshots: string;
  out: string;
  sequence: boolean;
  pinnerformer: boolean;
  compression: string;
  timeWindow: boolean;
  timeWindowProb: number;
  timeWindowMax: number;
  steps: number;
  batch: number;
  pageSize: number;
  trainSeqLen: number;
  lr: number;
  seed: number;
  evalDays: number;
  checkpointEvery: number;
  resume?: boolean;
  eval: boolean;
  evalSessions: number;
  oracle: boolean;
  export?: string;
  exportVersion: string;
  overwrite?: boolean;
  progress: boolean;
  labelWeight: Array<[number, number[]]>;
}

const COMPRESSIONS = ['pool+firstK', 'firstK', 'pool'];
/** Rows of the label-weight matrix (the training library's OUTCOMES, kept here so parsing needs no TensorFlow.js). */
const OUTCOME_NAMES = ['impression', 'click', 'save', 'closeup', 'hide'];

/** Parses `outcome=save,click,hide` into its row index and the three non-negative head weights. */
function collectLabelWeight(value: string, previous: Array<[number, number[]]>): Array<[number, number[]]> {
  const eq = value.indexOf('=');
  const row = OUTCOME_NAMES.indexOf(value.slice(0, Math.max(0, eq)).trim());
  if (row < 0) throw new InvalidArgumentError(`expected <outcome>=<save>,<click>,<hide> with outcome one of ${OUTCOME_NAMES.join(', ')}, got "${value}"`);
  const weights = value.slice(eq + 1).split(',').map((w) => Number(w.trim()));
  if (weights.length !== 3 || weights.some((w) => !(w >= 0) || !Number.isFinite(w)))
    throw new InvalidArgumentError(`"${value}": give three non-negative weights (save, click, hide heads), e.g. hide=4,4,2`);
  return [...previous, [row, weights]];
}

/** Parses `save,click,hide` head weights (any finite numbers). */
function parseHeadWeights(value: string): number[] {
  const w = value.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (w.length !== 3 || w.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`"${value}": give three numbers save,click,hide, e.g. 1,0.3,-2`);
  return w;
}

/** The default matrix with the given rows replaced. */
function withLabelWeightRows(defaults: ReadonlyArray<ReadonlyArray<number>>, rows: Array<[number, number[]]>): number[][] {
  const out = defaults.map((r) => [...r]);
  for (const [i, w] of rows) out[i] = w;
  return out;
}

/** `pinrank train ranker`: trains transact_encoder + ranking_heads (or an ablation), evaluates it and exports it. */
export function registerTrainRanker(program: Command, io: CliIo): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train models on a simulated world');
  train
    .command('ranker')
    .description('train the TransAct ranker (transact_encoder + ranking_heads) or an ablation; evaluate HIT@3/AUC per head on held-out sessions; export')
    .requiredOption('--world <dir>', 'world directory written by `pinrank simulate`')
    .requiredOption('--snapshots <dir>', 'PinnerFormer snapshots written by `pinrank embed --out <dir>` (each impression uses the newest one from an earlier day)')
    .requiredOption('--out <dir>', 'run directory: checkpoint/, curve.csv, eval.json, *.prw')
    .option('--no-sequence', 'ablation: no sequence features (trains ranking_heads_lite)')
    .option('--no-pinnerformer', 'ablation: no PinnerFormer vectors')
    .option('--compression <c>', `output compression: ${COMPRESSIONS.join(' | ')}`, parseCompression, 'pool+firstK')
    .option('--no-time-window', 'ablation: no random time-window mask in training')
    .option('--time-window-prob <p>', 'share of batches that get a time-window mask', numberOption(0, 1), 0.5)
    .option('--time-window-max <s>', 'largest masked window in seconds', numberOption(1, 7 * 86400), 3600)
    .option('--steps <n>', 'optimiser steps', intOption(1), 300)
    .option('--batch <n>', 'requests (pages of one user sharing a sequence) per batch', intOption(1, 4096), 24)
    .option('--page-size <n>', 'impressions per request page', intOption(1, 1000), 6)
    .option('--train-seq-len <s>', 'sequence rows in training (serving uses 100; no positional encoding)', intOption(1, 100), 32)
    .option('--lr <x>', 'Adam learning rate', numberOption(1e-6, 1), 0.001)
    .option(
      '--label-weight <outcome=save,click,hide>',
      `one row of the label-weight matrix: the loss weights of the save, click and hide heads for impressions with that outcome (${OUTCOME_NAMES.join(' | ')}); repeatable, other rows keep their defaults`,
      collectLabelWeight,
      [],
    )
    .option('--seed <n>', 'seed of initialisation, batches and time windows', intOption(0), 1)
    .option('--eval-days <d>', 'last days held out for evaluation', numberOption(0.01, 3650), 7)
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption(1), 100)
    .option('--resume', "continue from the run directory's checkpoint")
    .option('--no-eval', 'skip the evaluation')
    .option('--eval-sessions <n>', 'at most this many evaluation sessions', intOption(1), 600)
    .option('--no-oracle', 'skip the oracle ceiling')
    .option('--export <repo>', 'export into this model repository (full ranker or lite only)')
    .option('--export-version <v>', 'version directory of the export', '2')
    .option('--overwrite', 'replace existing repository entries')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (flags: RankerFlags) => {
      // TensorFlow.js is loaded only when training runs, so the rest of the CLI starts fast.
      // Loaded lazily (TensorFlow.js); require keeps it working when the CLI runs from source through tsx.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { DEFAULT_LABEL_WEIGHTS, initModelTraining, runRanker } = require('@pinrank/train') as typeof TrainModule;
      await initModelTraining();
      const progress = trainingProgress(io, 'train ranker', flags.progress);
      try {
        const res = await runRanker({
          worldDir: flags.world,
          snapshotsDir: flags.snapshots,
          runDir: flags.out,
          variant: { sequence: flags.sequence, pinnerformer: flags.pinnerformer, compression: flags.compression as 'pool+firstK', timeWindowMask: flags.timeWindow },
          steps: flags.steps,
          requestsPerBatch: flags.batch,
          pageSize: flags.pageSize,
          trainSeqLen: flags.trainSeqLen,
          learningRate: flags.lr,
          ...(flags.labelWeight.length > 0 ? { labelWeights: withLabelWeightRows(DEFAULT_LABEL_WEIGHTS, flags.labelWeight) } : {}),
          seed: flags.seed,
          evalDays: flags.evalDays,
          timeWindowProb: flags.timeWindowProb,
          timeWindowMaxS: flags.timeWindowMax,
          checkpointEvery: flags.checkpointEvery,
          resume: resumeFromCheckpoint(io, flags.out, flags.resume),
          evaluate: flags.eval,
          evalSessions: flags.evalSessions,
          oracle: flags.oracle,
          exportVersion: flags.exportVersion,
          overwrite: flags.overwrite ?? false,
          ...(flags.export ? { exportRepository: flags.export } : {}),
          onStep: (step, steps, loss) => progress.onStep(step, steps, loss),
        });
        progress.stop();
        io.out(`trained ${Object.keys(res.weights).join(' + ')} for ${res.trained.options.steps} steps in ${res.trained.trainSeconds.toFixed(0)} s → ${flags.out}/eval.json\n`);
        if (res.evaluation) io.out(`model  ${JSON.stringify({ auc: res.evaluation.auc, hit3: res.evaluation.hit3, rankedHideHit3: res.evaluation.rankedHideHit3, top10TopicEntropy: res.evaluation.top10TopicEntropy })}\n`);
        if (res.realtime) io.out(describeProbe(res.realtime));
        if (res.oracle) io.out(`oracle ${JSON.stringify({ auc: res.oracle.auc, hit3: res.oracle.hit3, rankedHideHit3: res.oracle.rankedHideHit3, top10TopicEntropy: res.oracle.top10TopicEntropy })}\n`);
        for (const e of res.exported ?? []) io.out(`exported ${e.dir}\n`);
        if (res.parity) io.out(`ONNX parity: max |Δ| ${res.parity.maxAbsDiff.toExponential(2)} over ${res.parity.candidates} candidates\n`);
      } finally {
        progress.stop();
      }
    });
  registerRankerReport(train, io);
  registerRankerProbe(train, io);
}

/** The two lines `pinrank train ranker` and `ranker-probe` print for a realtime-effect probe. */
function describeProbe(r: TrainModule.RealtimeProbeResult): string {
  const line = (name: string, b: TrainModule.BurstResponse): string =>
    `  ${name}: topic moved up for ${(100 * b.movedUp).toFixed(0)}% of users (unchanged ${(100 * b.unchanged).toFixed(0)}%), mean position ${b.positionBefore.toFixed(2)} -> ${b.positionAfter.toFixed(2)} of ${r.candidates}; ` +
    `mean head change on the topic (other candidates) save ${b.headDelta.save.toFixed(4)} (${b.otherHeadDelta.save.toFixed(4)}), ` +
    `click ${b.headDelta.click.toFixed(4)} (${b.otherHeadDelta.click.toFixed(4)}), hide ${b.headDelta.hide.toFixed(4)} (${b.otherHeadDelta.hide.toFixed(4)})\n`;
  return `realtime probe (topic ${r.topic}, ${r.users} users per burst):\n${line('saves', r.saves)}${line('hides', r.hides)}`;
}

/** `pinrank train ranker-probe`: the realtime-effect check of exported models, offline. */
function registerRankerProbe(train: Command, io: CliIo): void {
  train
    .command('ranker-probe')
    .description(
      "offline realtime-effect check of exported ranker models: for users of a world, does a burst of saves on a topic move that topic's candidates up, and a burst of hides not? (the service-level test's measurement, without the stack)",
    )
    .requiredOption('--world <dir>', 'world directory written by `pinrank simulate`')
    .requiredOption('--snapshots <dir>', 'PinnerFormer snapshots written by `pinrank embed --out <dir>`')
    .requiredOption('--models <repo>', 'model repository holding transact_encoder/<v> and ranking_heads/<v> (or ranking_heads_lite/<v>)')
    .requiredOption('--model-version <v>', 'version directory of the probed models')
    .option('--lite', 'probe ranking_heads_lite (no sequence) instead of transact_encoder + ranking_heads')
    .option('--users <n>', 'users per burst type', intOption(1, 100_000), 100)
    .option('--burst <n>', 'actions per burst (over the last minute)', intOption(1, 1000), 20)
    .option('--weights <save,click,hide>', 'head weights of the ranking score (default: the router default, 1,0.3,-2)', parseHeadWeights, [1, 0.3, -2])
    .option('--json', 'print the result as JSON')
    .action(async (flags: { world: string; snapshots: string; models: string; modelVersion: string; lite?: boolean; users: number; burst: number; weights: number[]; json?: boolean }) => {
      const w = flags.weights;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { probeExportedRanker } = require('@pinrank/train') as typeof TrainModule;
      const res = await probeExportedRanker({
        worldDir: flags.world,
        snapshotsDir: flags.snapshots,
        repository: flags.models,
        version: flags.modelVersion,
        lite: flags.lite ?? false,
        users: flags.users,
        burst: flags.burst,
        weights: { save: w[0] as number, click: w[1] as number, hide: w[2] as number },
      });
      io.out(flags.json ? `${JSON.stringify(res, null, 2)}\n` : describeProbe(res));
    });
}

/** `pinrank train ranker-report`: summarises runs' eval.json (mean ± std over seeds) as a markdown table and SVG charts. */
function registerRankerReport(train: Command, io: CliIo): void {
  train
    .command('ranker-report')
    .description('summarise ranker runs (eval.json): markdown table of AUC / HIT@3 per head and top-10 topic entropy, optional SVG charts')
    .requiredOption('--group <label=dir,dir...>', 'a labelled group of run directories (repeatable; seeds of one variant)', collectGroup, [])
    .option('--svg <prefix>', 'write <prefix>-save-auc.svg, -save-hit3.svg, -hide-hit3.svg (by ranking score), -hide-head-hit3.svg and -entropy.svg')
    .action(async (flags: { group: Array<{ label: string; runDirs: string[] }>; svg?: string }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { reportSvg, reportTable, summariseRankerRuns } = require('@pinrank/train') as typeof TrainModule;
      const rows = await summariseRankerRuns(flags.group);
      io.out(`${reportTable(rows)}\n`);
      if (flags.svg) {
        const { writeFile } = await import('node:fs/promises');
        const charts: Array<[string, string, (r: (typeof rows)[number]) => { mean: number; std: number }, number, number]> = [
          ['save-auc', 'save AUC (held-out sessions)', (r) => r.auc.save, 0.4, 0.8],
          ['save-hit3', 'save HIT@3 (higher is better)', (r) => r.hit3.save, 0, 1],
          ['hide-hit3', 'hides in the top 3 by ranking score (lower is better)', (r) => r.rankedHide, 0, 1],
          ['hide-head-hit3', 'hide head HIT@3: hides in its own top 3 (higher is better)', (r) => r.hit3.hide, 0, 1.2],
          ['entropy', 'topic entropy of the top 10 by save (bits)', (r) => r.entropy, 0, 3.5],
        ];
        for (const [name, title, pick, min, max] of charts) {
          const path = `${flags.svg}-${name}.svg`;
          await writeFile(path, reportSvg(rows, title, pick, min, max));
          io.out(`wrote ${path}\n`);
        }
      }
    });
}

function collectGroup(value: string, previous: Array<{ label: string; runDirs: string[] }>): Array<{ label: string; runDirs: string[] }> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected label=dir[,dir...], got "${value}"`);
  return [...previous, { label: value.slice(0, eq), runDirs: value.slice(eq + 1).split(',').filter((d) => d.length > 0) }];
}

function parseCompression(value: string): string {
  if (!COMPRESSIONS.includes(value)) throw new InvalidArgumentError(`expected one of ${COMPRESSIONS.join(', ')}, got "${value}"`);
  return value;
}
