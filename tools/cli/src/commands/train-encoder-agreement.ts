import type * as TrainModule from '@pinrank/train';
import { type Command } from 'commander';
import { type CliIo } from '../io';
import { intOption } from './options';

interface AgreementFlags {
  world: string;
  snapshots: string;
  models: string;
  reference: string;
  candidate: string;
  heads: string;
  requests: number;
  candidates: number;
  topK: number;
  json?: boolean;
}

/**
 * `pinrank train encoder-agreement`: how closely a transact_encoder version (or
 * model file) agrees with a reference version on realistic ranking requests,
 * through the ranking heads — the check a re-emitted or lower-precision
 * encoder must pass before it ships.
 */
export function registerTrainEncoderAgreement(program: Command, io: CliIo): void {
  const train = program.commands.find((c) => c.name() === 'train') ?? program.command('train').description('train models on a simulated world');
  train
    .command('encoder-agreement')
    .description('compare two transact_encoder models on realistic ranking requests of a world: output and probability differences, top-K agreement of the ranking')
    .requiredOption('--world <dir>', 'world directory written by `pinrank simulate`')
    .requiredOption('--snapshots <dir>', 'PinnerFormer snapshots written by `pinrank embed --out <dir>`')
    .option('--models <repo>', 'model repository', 'models')
    .requiredOption('--reference <v>', 'reference transact_encoder version')
    .requiredOption('--candidate <v|file>', 'compared transact_encoder: a version in the repository or a model.onnx path')
    .requiredOption('--heads <v>', 'ranking_heads version both encoders feed')
    .option('--requests <n>', 'ranking requests (distinct users, evaluation period)', intOption(1, 100_000), 200)
    .option('--candidates <n>', 'candidates per request', intOption(1, 10_000), 200)
    .option('--top-k <n>', 'K of the top-K agreement', intOption(1, 10_000), 10)
    .option('--json', 'print the result as JSON')
    .action(async (flags: AgreementFlags) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { encoderAgreement } = require('@pinrank/train') as typeof TrainModule;
      const r = await encoderAgreement({
        worldDir: flags.world,
        snapshotsDir: flags.snapshots,
        repository: flags.models,
        reference: flags.reference,
        candidate: flags.candidate,
        heads: flags.heads,
        requests: flags.requests,
        candidates: flags.candidates,
        topK: flags.topK,
      });
      io.out(
        flags.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `${r.requests} requests × ${r.candidates} candidates: encoded max |Δ| ${r.encodedMaxAbsDiff.toExponential(2)} (mean ${r.encodedMeanAbsDiff.toExponential(2)}), ` +
              `probability max |Δ| ${r.probMaxAbsDiff.toExponential(2)}, score max |Δ| ${r.scoreMaxAbsDiff.toExponential(2)}; ` +
              `top-${r.topK} overlap ${(100 * r.topKOverlap).toFixed(2)}%, same top-1 ${(100 * r.top1Agreement).toFixed(2)}%, same full order ${(100 * r.sameOrder).toFixed(2)}%\n`,
      );
    });
}
