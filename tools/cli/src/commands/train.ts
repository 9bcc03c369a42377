import { InvalidArgumentError, type Command } from 'commander';
import type * as TrainModule from '@pinrank/train';
import { type CliIo } from '../io';
import { resumeFromCheckpoint, trainingProgress } from './training-progress';
import { intOption, numberOption } from './options';

interface PinnerformerFlags {
  world: string;
  out: string;
  objective: string;
  negatives: string;
  logq: boolean;
  steps: number;
  batch: number;
  targets: number;
  randomNegatives: number;
  windowDays?: number;
  maxLen: number;
  lr: number;
  seed: number;
  hidden?: number;
  layers?: number;
  checkpointEvery: number;
  validateEvery: number;
  validationBatches: number;
  plateauPatience: number;
  resume?: boolean;
  eval: boolean;
  indexSize: number;
  evalSeed: number;
  evalPopulation: string;
  export?: string;
  exportVersion: string;
  exportBelowFloors?: boolean;
  overwrite?: boolean;
  progress: boolean;
}

/** `pinrank train …`: a command group; `train pinnerformer` trains, evaluates and exports the PinnerFormer pair. */
export function registerTrain(program: Command, io: CliIo): void {
  // One `train` group whichever registration runs first; each model adds its subcommand to it.
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train models on a simulated world');
  train
    .command('pinnerformer')
    .description('train the PinnerFormer user encoder + item tower (sampled softmax), evaluate Recall@10 on held-out users, export to a model repository')
    .requiredOption('--world <dir>', 'world directory written by `pinrank simulate`')
    .requiredOption('--out <dir>', 'run directory: checkpoint/, curve.csv, curve.json, eval.json, *.prw')
    .option('--objective <name>', 'dense-all-action | all-action | sasrec | next-action', 'dense-all-action')
    .option('--negatives <pool>', 'mixed | in-batch | random', 'mixed')
    .option('--no-logq', 'no logQ correction')
    .option('--steps <n>', 'optimiser steps', intOption(1), 600)
    .option('--batch <n>', 'sequences per batch', intOption(1, 4096), 32)
    .option('--targets <n>', 'targets per sequence (dense all-action positions, all-action window samples)', intOption(1, 1024), 8)
    .option('--random-negatives <n>', 'uniform random negatives per batch (random and mixed pools)', intOption(0, 100_000), 256)
    .option('--window-days <k>', 'K: future window of the targets in days (default min(28, half the training span))', numberOption(0.01, 3650))
    .option('--max-len <m>', 'M: positive actions per sequence', intOption(2, 1000), 32)
    .option('--lr <x>', 'Adam learning rate', numberOption(1e-6, 1), 0.002)
    .option('--seed <n>', 'seed of initialisation and example sampling', intOption(0), 1)
    .option('--hidden <h>', 'transformer width H (default 64)', intOption(1, 4096))
    .option('--layers <l>', 'transformer layers (default 2)', intOption(1, 64))
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption(1), 100)
    .option('--validate-every <n>', 'held-out loss every n steps on fixed batches of held-out users (0 = never)', intOption(0), 0)
    .option('--validation-batches <n>', 'batches of the held-out loss', intOption(1, 1000), 8)
    .option('--plateau-patience <n>', 'stop after n validations without improvement of the held-out loss (0 = run all steps)', intOption(0), 0)
    .option('--resume', "continue from the run directory's checkpoint")
    .option('--no-eval', 'skip the evaluation')
    .option('--index-size <n>', 'random catalog items in the evaluation index', intOption(10), 2000)
    .option('--eval-seed <n>', 'seed of the evaluation index and anchors (keep fixed to pair runs)', intOption(0), 1)
    .option('--eval-population <who>', 'users of the cutoff evaluation: all | held-out', parsePopulation, 'all')
    .option('--export <repo>', 'export pinnerformer and pinnerformer_item into this model repository')
    .option('--export-version <v>', 'version directory of the export', '2')
    .option('--export-below-floors', 'export even if the model does not beat both floors')
    .option('--overwrite', 'replace existing repository entries')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (flags: PinnerformerFlags) => {
      // TensorFlow.js is loaded only when training runs, so the rest of the CLI starts fast. A lazy
      // require (not import()) because the CLI runs TypeScript sources through a CommonJS loader.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { initModelTraining, runPinnerformer, summarise } = require('@pinrank/train') as typeof TrainModule;
      await initModelTraining();
      const progress = trainingProgress(io, 'train', flags.progress);
      try {
        const model: Record<string, unknown> = {};
        if (flags.hidden !== undefined) Object.assign(model, { hidden: flags.hidden, ffnDim: 4 * flags.hidden });
        if (flags.layers !== undefined) model['layers'] = flags.layers;
        const res = await runPinnerformer({
          worldDir: flags.world,
          runDir: flags.out,
          objective: flags.objective as 'dense-all-action',
          negatives: flags.negatives as 'mixed',
          logQ: flags.logq,
          steps: flags.steps,
          batchSize: flags.batch,
          targetsPerSequence: flags.targets,
          randomNegatives: flags.randomNegatives,
          maxLen: flags.maxLen,
          learningRate: flags.lr,
          seed: flags.seed,
          checkpointEvery: flags.checkpointEvery,
          validateEvery: flags.validateEvery,
          validationBatches: flags.validationBatches,
          plateauPatience: flags.plateauPatience,
          resume: resumeFromCheckpoint(io, flags.out, flags.resume),
          model,
          ...(flags.windowDays !== undefined ? { windowDays: flags.windowDays } : {}),
          evaluate: flags.eval,
          evalOptions: { indexSize: flags.indexSize, seed: flags.evalSeed, population: flags.evalPopulation as 'all' },
          exportVersion: flags.exportVersion,
          exportBelowFloors: flags.exportBelowFloors ?? false,
          overwrite: flags.overwrite ?? false,
          ...(flags.export ? { exportRepository: flags.export } : {}),
          onStep: (step, steps, loss) => progress.onStep(step, steps, loss),
        });
        progress.stop();
        const t = res.trained;
        const stop = t.stopReason === 'plateau' ? ` (held-out loss plateau; best ${t.bestValidation?.loss.toFixed(4)} at step ${t.bestValidation?.step})` : '';
        io.out(`trained ${t.options.objective} (${t.options.negatives}${t.options.logQ ? ' + logQ' : ''}) for ${t.finalStep} steps${stop}, ${t.meanTargetsPerBatch.toFixed(1)} targets per batch → ${res.weights.user}\n`);
        if (res.evaluation) io.out(`${JSON.stringify(summarise(res.evaluation))}\n`);
        for (const e of res.exported ?? []) io.out(`exported ${e.dir} (sha256 ${e.manifest.files[0]?.sha256 ?? '?'})\n`);
      } finally {
        progress.stop();
      }
    });
}

function parsePopulation(value: string): string {
  if (value !== 'all' && value !== 'held-out') throw new InvalidArgumentError(`expected all or held-out, got "${value}"`);
  return value;
}
