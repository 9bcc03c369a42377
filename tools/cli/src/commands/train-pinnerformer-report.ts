import { writeFile } from 'node:fs/promises';
import type * as TrainModule from '@pinrank/train';
import { type Command, InvalidArgumentError } from 'commander';
import { type CliIo } from '../io';
import { intOption, numberOption } from './options';

interface Group {
  label: string;
  runDirs: string[];
}

/**
 * `pinrank train pinnerformer-eval | pinnerformer-report | pinnerformer-world`:
 * evaluate finished runs again, compare objectives over seeds with paired
 * standard errors and verdicts, and measure what the world's future holds.
 */
export function registerTrainPinnerformerReport(program: Command, io: CliIo): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train models on a simulated world');
  train
    .command('pinnerformer-eval')
    .description("evaluate finished PinnerFormer runs again (realtime with the session split, daily batch, cutoff) and rewrite each run's eval.json")
    .requiredOption('--run <dir...>', 'run directories (pinnerformer.prw, pinnerformer_item.prw)')
    .option('--models <repo>', 'evaluate the exported pair of this model repository instead (eval.json goes to the one --run directory)')
    .option('--model-version <v>', 'version of the exported pair (with --models)')
    .option('--world <dir>', 'world directory (default: the one each run trained on)')
    .option('--index-size <n>', 'random catalog items in the evaluation index', intOption(10), 2000)
    .option('--eval-seed <n>', 'seed of the evaluation index and anchors (keep fixed to pair runs)', intOption(0), 1)
    .option('--eval-population <who>', 'users of the cutoff evaluation: all | held-out', parsePopulation, 'all')
    .action(async (flags: { run: string[]; models?: string; modelVersion?: string; world?: string; indexSize: number; evalSeed: number; evalPopulation: 'all' | 'held-out' }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { initModelTraining, evaluatePinnerformerRun, loadRepositoryPinnerformer, summarise } = require('@pinrank/train') as typeof TrainModule;
      if (flags.models && (!flags.modelVersion || !flags.world || flags.run.length !== 1))
        throw new InvalidArgumentError('--models needs --model-version, --world and exactly one --run directory for eval.json');
      await initModelTraining();
      const loaded = flags.models ? await loadRepositoryPinnerformer(flags.models, flags.modelVersion as string) : undefined;
      for (const dir of flags.run) {
        const e = await evaluatePinnerformerRun(dir, {
          ...(loaded ? { loaded } : {}),
          ...(flags.world ? { worldDir: flags.world } : {}),
          indexSize: flags.indexSize,
          seed: flags.evalSeed,
          population: flags.evalPopulation,
        });
        io.out(`${dir}: ${JSON.stringify(summarise(e))}\n`);
      }
    });

  train
    .command('pinnerformer-report')
    .description('compare PinnerFormer runs (eval.json, run.json, curve.json): cutoff Recall@10 over seeds with standard errors, paired differences and verdicts, SVG curves')
    .requiredOption('--group <label=dir,dir...>', 'a labelled group of run directories (repeatable; the seeds of one objective), listed best first as published', collectGroup, [])
    .option('--compare <pair>', 'also compare these two groups ("label A>label B", repeatable); default: each group against the next', collectPair, [])
    .option('--svg <prefix>', 'write <prefix>-validation-loss.svg and <prefix>-cutoff-recall.svg')
    .option('--svg-max <x>', 'upper end of the recall axis', numberOption(0.01, 1), 0.3)
    .option('--json <file>', 'write the summaries and comparisons as JSON')
    .action(async (flags: { group: Group[]; compare: Array<[string, string]>; svg?: string; svgMax: number; json?: string }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const t = require('@pinrank/train') as typeof TrainModule;
      const groups: TrainModule.GroupSummary[] = [];
      for (const g of flags.group) groups.push(t.summariseGroup(g.label, await t.readRuns(g.runDirs)));
      const byLabel = (label: string): TrainModule.GroupSummary => {
        const g = groups.find((x) => x.label === label);
        if (!g) throw new InvalidArgumentError(`--compare names "${label}", which is not a --group label`);
        return g;
      };
      const pairs = flags.compare.length > 0 ? flags.compare : groups.slice(1).map((g, i): [string, string] => [groups[i]!.label, g.label]);
      const comparisons = pairs.map(([a, b]) => t.compareGroups(byLabel(a), byLabel(b)));
      io.out(`${t.compareTable(groups)}\n\n${t.comparisonTable(comparisons)}\n`);
      if (flags.svg) {
        const files: Array<[string, string]> = [
          [`${flags.svg}-validation-loss.svg`, t.validationCurveSvg(groups, 'held-out loss (each objective its own targets) against sequences seen')],
          [`${flags.svg}-cutoff-recall.svg`, t.cutoffRecallSvg(groups, 'Recall@10, cutoff evaluation: mean, ±2 SE over users, one dot per seed', 0, flags.svgMax)],
        ];
        for (const [path, svg] of files) {
          await writeFile(path, svg);
          io.out(`wrote ${path}\n`);
        }
      }
      if (flags.json) {
        const strip = groups.map(({ runs, ...rest }) => ({ ...rest, runs: runs.map((r) => r.dir) }));
        await writeFile(flags.json, `${JSON.stringify({ groups: strip, comparisons }, null, 2)}\n`);
        io.out(`wrote ${flags.json}\n`);
      }
    });

  train
    .command('pinnerformer-world')
    .description("how much of the 14-day future after the cutoff the simulator's ground truth explains: long-term profile vs state at the cutoff vs next action (Recall@10)")
    .requiredOption('--world <dir>', 'world directory written by `pinrank simulate`')
    .option('--index-size <n>', 'random catalog items in the index', intOption(10), 2000)
    .option('--window-days <k>', 'future window after the cutoff', numberOption(1, 365), 14)
    .option('--json', 'print the result as JSON')
    .action(async (flags: { world: string; indexSize: number; windowDays: number; json?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { loadTrainingWorld, worldCheck } = require('@pinrank/train') as typeof TrainModule;
      const world = await loadTrainingWorld(flags.world, { evalDays: flags.windowDays });
      const c = worldCheck(world, { indexSize: flags.indexSize, windowDays: flags.windowDays });
      if (flags.json) {
        const slim = (m: { recallAtK: number; stdError: number; users: number }): object => ({ recallAtK: m.recallAtK, stdError: m.stdError, users: m.users });
        io.out(
          `${JSON.stringify({ ...c, longTerm: slim(c.longTerm), stateAtCutoff: slim(c.stateAtCutoff), nextAction: slim(c.nextAction), nextSessionOnly: slim(c.nextSessionOnly), popularity: slim(c.popularity), meanContent: slim(c.meanContent) }, null, 2)}\n`,
        );
        return;
      }
      io.out(`${c.users} users, ${c.positives} future positives; ${(100 * c.firstSessionShare).toFixed(1)} % of them in the session of the first future action\n`);
      for (const m of [c.nextAction, c.stateAtCutoff, c.longTerm, c.nextSessionOnly, c.meanContent, c.popularity])
        io.out(`${m.method.padEnd(34)} Recall@${m.k} ${m.recallAtK.toFixed(3)} ± ${m.stdError.toFixed(3)}\n`);
      const d = c.nextMinusLongTerm;
      io.out(`next action − long-term profile (paired over users): ${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(3)} ± ${d.stdError.toFixed(3)}\n`);
    });
}

function collectGroup(value: string, previous: Group[]): Group[] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected label=dir[,dir...], got "${value}"`);
  return [...previous, { label: value.slice(0, eq), runDirs: value.slice(eq + 1).split(',').filter((d) => d.length > 0) }];
}

function collectPair(value: string, previous: Array<[string, string]>): Array<[string, string]> {
  const gt = value.indexOf('>');
  if (gt <= 0 || gt === value.length - 1) throw new InvalidArgumentError(`expected "label A>label B", got "${value}"`);
  return [...previous, [value.slice(0, gt), value.slice(gt + 1)]];
}

function parsePopulation(value: string): string {
  if (value !== 'all' && value !== 'held-out') throw new InvalidArgumentError(`expected all or held-out, got "${value}"`);
  return value;
}
