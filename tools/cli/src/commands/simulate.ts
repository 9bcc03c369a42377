import { type Command } from 'commander';
import { DEFAULT_WORLD_OPTIONS, writeWorld } from '@pinrank/sim';
import { type CliIo } from '../io';
import { intOption, numberOption } from './options';
import { PhaseProgress } from './progress';

interface SimulateFlags {
  out: string;
  seed: number;
  users?: number;
  items?: number;
  days?: number;
  topics?: number;
  dislikedTopics?: number;
  gzip?: boolean;
  progress: boolean;
}

/** `pinrank simulate`: writes a synthetic world (item catalog, action log, manifest) to a directory. */
export function registerSimulate(program: Command, io: CliIo): void {
  const d = DEFAULT_WORLD_OPTIONS;
  program
    .command('simulate')
    .description('generate a deterministic synthetic world: items.vec (catalog), actions.prlog (action log), world.json')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .requiredOption('--seed <n>', 'seed: the same seed and sizes give the same bytes', intOption(0))
    .option('--users <n>', `number of users (default ${d.users})`, intOption(1, 10_000_000))
    .option('--items <n>', `number of items (default ${d.items})`, intOption(2, 100_000_000))
    .option('--days <n>', `length of the simulated period in days (default ${d.days})`, numberOption(1 / 24, 3650))
    .option('--topics <n>', `number of topics (default ${d.topics})`, intOption(8, 4096))
    .option(
      '--disliked-topics <mean>',
      `mean number of topics each user dislikes: hides cluster on them and engagement drops (default ${d.dislikedTopicsMean}: hides spread over every off-interest topic)`,
      numberOption(0, 8),
    )
    .option('--gzip', 'gzip the action log (actions.prlog.gz)')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (flags: SimulateFlags) => {
      const progress = new PhaseProgress(flags.progress && io.errIsTty);
      const started = Date.now();
      try {
        const manifest = await writeWorld(
          flags.out,
          { seed: flags.seed, users: flags.users, items: flags.items, days: flags.days, topics: flags.topics, dislikedTopicsMean: flags.dislikedTopics },
          { gzip: flags.gzip ?? false, onProgress: (phase, done, total) => progress.update(phase, done, total) },
        );
        progress.stop();
        const { counts } = manifest;
        io.out(
          `wrote ${flags.out}: ${counts.users} users, ${counts.items} items, ${counts.actions} actions ` +
            `(saves ${counts.byType.save}, clicks ${counts.byType.click}, close-ups ${counts.byType.closeup}, hides ${counts.byType.hide}) ` +
            `in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        progress.stop();
      }
    });
}
