import { join } from 'node:path';
import { type Command } from 'commander';
import { type CliIo } from '../io';
import { mergeUserShards, runEmbedJob } from '../embed/embed-job';
import { intOption } from './options';
import { PhaseProgress } from './progress';

interface EmbedFlags {
  world: string;
  models: string;
  out: string;
  modelVersion?: string;
  asOf?: string;
  version?: string;
  base?: string;
  maxLen?: number;
  batch: number;
  shards: number;
  shard?: number;
  shardFromEnv?: string;
  threads: number;
  merge?: boolean;
  progress: boolean;
}

/** `pinrank embed`: the batch job writing a PinnerFormer snapshot (user + item-tower vector files). */
export function registerEmbed(program: Command, io: CliIo): void {
  program
    .command('embed')
    .description('batch job: PinnerFormer user vectors as of a day and item-tower vectors → a snapshot version (user + item files)')
    .requiredOption('--world <dir>', 'simulated world directory (catalog + action log)')
    .option('--models <dir>', 'model repository', 'models')
    .option('--out <dir>', 'snapshot root; files go to <out>/<version>/', '.cache/snapshots')
    .option('--model-version <v>', 'PinnerFormer model version (default: highest)')
    .option('--as-of <date>', "embedding day YYYY-MM-DD (default: the world's last day)")
    .option('--version <label>', 'snapshot version label (default <as-of>.pf<model version>)')
    .option('--base <version>', 'incremental: embed only users active since this snapshot (under --out) and name it as base')
    .option('--max-len <n>', "positive actions per user (M; default: the model's)", intOption(1, 1000))
    .option('--batch <n>', 'users per inference batch', intOption(1, 100_000), 256)
    .option('--shards <n>', 'split users into n contiguous index ranges', intOption(1, 10_000), 1)
    .option('--shard <i>', 'which range this run embeds (0-based)', intOption(0))
    .option('--shard-from-env <var>', 'read the shard index from this variable (e.g. JOB_COMPLETION_INDEX)')
    .option('--threads <n>', 'ONNX Runtime threads', intOption(1, 256), 2)
    .option('--merge', 'after all shards ran: merge users.shard-*-of-n.vec into users.vec')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (flags: EmbedFlags) => {
      let shard = flags.shard ?? 0;
      if (flags.shardFromEnv) {
        const raw = process.env[flags.shardFromEnv];
        if (raw === undefined || !/^\d+$/.test(raw)) throw new Error(`--shard-from-env: ${flags.shardFromEnv} must hold a shard index, got "${raw ?? ''}"`);
        shard = Number(raw);
      }
      if (flags.merge) {
        if (!flags.version) throw new Error('--merge needs --version (the snapshot whose shards to merge)');
        const out = await mergeUserShards(join(flags.out, flags.version), flags.shards);
        io.out(`merged ${flags.shards} shards into ${out}\n`);
        return;
      }
      const progress = new PhaseProgress(flags.progress && io.errIsTty);
      const started = Date.now();
      try {
        const res = await runEmbedJob({
          worldDir: flags.world,
          modelRoot: flags.models,
          outDir: flags.out,
          ...(flags.maxLen ? { maxLen: flags.maxLen } : {}),
          batchSize: flags.batch,
          shards: flags.shards,
          shard,
          threads: flags.threads,
          ...(flags.modelVersion ? { modelVersion: flags.modelVersion } : {}),
          ...(flags.asOf ? { asOfDate: flags.asOf } : {}),
          ...(flags.version ? { version: flags.version } : {}),
          ...(flags.base ? { baseVersion: flags.base } : {}),
          onProgress: (phase, done, total) => progress.update(phase, done, total),
        });
        progress.stop();
        io.out(
          `snapshot ${res.version} (as of ${res.asOfDate}): ${res.users} users → ${res.userFile}` +
            (res.itemFile ? `, ${res.items} items → ${res.itemFile}` : '') +
            ` (${res.skippedUsers} users skipped: no positive action yet${flags.base ? ' or no activity since the base' : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } finally {
        progress.stop();
      }
    });
}
