import { type Command } from 'commander';
import { registerModelsBuild, registerModelsRefreshConfigs } from './models-build';
import { type CliIo } from '../io';
import { registerSimulate } from './simulate';
import { registerHealth } from './health';
import { registerRank } from './rank';
import { registerSequence } from './sequence';
import { registerEmbeddings } from './embeddings';
import { registerSnapshots } from './snapshots';
import { registerModelsRemote } from './models-remote';
import { registerIngest } from './ingest';
import { registerEmbed } from './embed';
import { registerStart } from './start';
import { registerTrain } from './train';
import { registerLoadgen } from './loadgen';
import { registerTrainRanker } from './train-ranker';
import { registerTrainEncoderAgreement } from './train-encoder-agreement';
import { registerTrainPinnerformerReport } from './train-pinnerformer-report';
import { registerExperimentRun } from './experiment-run';
import { registerExperiments } from './experiments';

/** Adds one command to the program. To add a command: one file in this folder and one line below. */
export type CommandRegistration = (program: Command, io: CliIo) => void;

/** Every command of the `pinrank` CLI. */
export const COMMANDS: readonly CommandRegistration[] = [
  registerSimulate,
  registerModelsBuild,
  registerModelsRefreshConfigs,
  registerModelsRemote,
  registerHealth,
  registerRank,
  registerSequence,
  registerEmbeddings,
  registerSnapshots,
  registerIngest,
  registerEmbed,
  registerStart,
  registerLoadgen,
  registerTrain,
  registerTrainRanker,
  registerTrainEncoderAgreement,
  registerTrainPinnerformerReport,
  registerExperiments,
  registerExperimentRun,
];

/** Registers every command on `program`. */
export function registerCommands(program: Command, io: CliIo): void {
  for (const register of COMMANDS) register(program, io);
}
