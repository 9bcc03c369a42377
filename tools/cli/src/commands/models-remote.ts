import { InvalidArgumentError, type Command } from 'commander';
import {
  GRPCInferenceServiceClient,
  ModelMetadataRequest,
  RepositoryIndexRequest,
  RepositoryModelLoadRequest,
  RepositoryModelUnloadRequest,
} from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';

interface WorkerFlags extends RemoteFlags {
  worker: string;
}

/**
 * `pinrank models index|load|unload|metadata`: the model-repository extension of
 * the Open Inference Protocol on a worker (`--worker gpu|cpu` or `--addr`).
 */
export function registerModelsRemote(program: Command, io: CliIo): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('build and inspect the model repository');
  const add = (cmd: Command): Command =>
    remoteOptions(cmd.option('--worker <role>', 'which worker of the local stack: gpu or cpu', 'cpu'), 'cpu-worker');
  const withClient = async (flags: WorkerFlags, fn: (c: GRPCInferenceServiceClient, r: ReturnType<typeof resolveRemote>) => Promise<void>): Promise<void> => {
    if (flags.worker !== 'gpu' && flags.worker !== 'cpu') throw new InvalidArgumentError(`--worker must be gpu or cpu, got "${flags.worker}"`);
    const r = resolveRemote(flags, flags.worker === 'gpu' ? 'gpu-worker' : 'cpu-worker');
    const client = openClient(GRPCInferenceServiceClient, r.address, r.tls);
    try {
      await fn(client, r);
    } finally {
      client.close();
    }
  };

  add(models.command('index').description("every model version in a worker's repository with its state")).action((flags: WorkerFlags) =>
    withClient(flags, async (c, r) => {
      const res = await unary('worker', r.address, c.repositoryIndex.bind(c), RepositoryIndexRequest.fromPartial({}), r);
      io.out(flags.json ? toJson(res) : table(['model', 'version', 'state', 'reason'], res.models.map((m) => [m.name, m.version, m.state, m.reason])));
    }),
  );
  add(models.command('metadata <model>').description('inputs, outputs, versions and the execution provider in use')).action((model: string, flags: WorkerFlags) =>
    withClient(flags, async (c, r) => {
      const res = await unary('worker', r.address, c.modelMetadata.bind(c), ModelMetadataRequest.fromPartial({ name: model }), r);
      if (flags.json) return io.out(toJson(res));
      io.out(`${res.name} versions ${res.versions.join(', ')} on ${res.platform}\n`);
      const rows = [...res.inputs.map((t) => ['input', t.name, t.datatype, `[${t.shape.join(',')}]`]), ...res.outputs.map((t) => ['output', t.name, t.datatype, `[${t.shape.join(',')}]`])];
      io.out(table(['', 'tensor', 'type', 'shape'], rows));
    }),
  );
  add(models.command('load <model>').description('load or reload a model (the new version warms up before the old one unloads); admin')).action(
    (model: string, flags: WorkerFlags) =>
      withClient(flags, async (c, r) => {
        await unary('worker', r.address, c.repositoryModelLoad.bind(c), RepositoryModelLoadRequest.fromPartial({ modelName: model }), { ...r, timeoutMs: Math.max(r.timeoutMs, 60_000) });
        io.out(flags.json ? toJson({ loaded: model }) : `loaded ${model}\n`);
      }),
  );
  add(models.command('unload <model>').description('unload a model; admin')).action((model: string, flags: WorkerFlags) =>
    withClient(flags, async (c, r) => {
      await unary('worker', r.address, c.repositoryModelUnload.bind(c), RepositoryModelUnloadRequest.fromPartial({ modelName: model }), r);
      io.out(flags.json ? toJson({ unloaded: model }) : `unloaded ${model}\n`);
    }),
  );
}
