import { readFile } from 'node:fs/promises';
import { type Command } from 'commander';
import { armTrafficShare, parseExperimentsJson } from '@pinrank/contracts';
import { ExperimentsClient, GetAssignmentRequest, ListExperimentsRequest, ReloadExperimentsRequest, type ArmCounters } from '@pinrank/proto';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { type RemoteFlags } from '../remote/endpoints';
import { remoteOptions, resolveRemote } from '../remote/remote-options';
import { table, toJson } from '../remote/table';

const pct = (x: number): string => `${Math.round(x * 10000) / 100}%`;
const pairs = (m: Record<string, string | number>): string =>
  Object.entries(m)
    // Weights travel as float32: print them at float precision.
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : v}`)
    .join(' ') || '-';

function counterCells(c: ArmCounters | undefined): Array<string | number> {
  return [Number(c?.requests ?? 0), Number(c?.errors ?? 0), Number(c?.itemsReturned ?? 0), Number(c?.degraded ?? 0), c?.meanLatencyMs ? c.meanLatencyMs.toFixed(1) : '-'];
}

/** `pinrank experiments list|assign|reload|validate`: the router's online experiments. */
export function registerExperiments(program: Command, io: CliIo): void {
  const experiments = program.command('experiments').description("the router's online experiments: configuration, per-arm counters, a user's assignment, reload");
  const withClient = async <T>(flags: RemoteFlags, fn: (c: ExperimentsClient, r: ReturnType<typeof resolveRemote>) => Promise<T>): Promise<T> => {
    const r = resolveRemote(flags, 'router');
    const client = openClient(ExperimentsClient, r.address, r.tls);
    try {
      return await fn(client, r);
    } finally {
      client.close();
    }
  };

  remoteOptions(experiments.command('list', { isDefault: true }).description('layers, experiments and arms with their treatment and counters since the router started'), 'router').action(
    (flags: RemoteFlags) =>
      withClient(flags, async (c, r) => {
        const res = await unary('router', r.address, c.listExperiments.bind(c), ListExperimentsRequest.fromPartial({}), r);
        if (flags.json) return io.out(toJson(res));
        if (!res.source) return io.out('no experiments configured (RANKER_EXPERIMENTS_FILE or RANKER_EXPERIMENTS)\n');
        io.out(`configuration "${res.configVersion || '-'}" from ${res.source}, loaded ${new Date(Number(res.loadedAtMs)).toISOString()}; holdout ${pct(res.holdoutFraction)} (salt "${res.holdoutSalt}")\n`);
        if (res.lastReloadError) io.out(`last reload REFUSED: ${res.lastReloadError}\n`);
        const rows: Array<Array<string | number>> = [];
        for (const layer of res.layers) {
          for (const e of layer.experiments) {
            for (const a of e.arms) {
              const treatment = [
                a.scorer ? `scorer=${a.scorer}` : '',
                Object.keys(a.modelVersions).length ? `models: ${pairs(a.modelVersions)}` : '',
                Object.keys(a.headWeights).length ? `weights: ${pairs(a.headWeights)}` : '',
                a.snapshotVersion ? `snapshot=${a.snapshotVersion}` : '',
              ]
                .filter(Boolean)
                .join('; ');
              rows.push([layer.name, e.name, a.name, pct(a.trafficShare), treatment || 'defaults', ...counterCells(a.counters)]);
            }
          }
        }
        if (res.holdoutFraction > 0) rows.push(['-', 'holdout', 'holdout', pct(res.holdoutFraction), 'defaults', ...counterCells(res.holdoutCounters)]);
        io.out(table(['layer', 'experiment', 'arm', 'traffic', 'treatment', 'requests', 'errors', 'items', 'degraded', 'mean ms'], rows));
      }),
  );

  remoteOptions(experiments.command('assign <userId>').description("a user's holdout status, arm per layer, and the treatment their requests get"), 'router').action(
    (userId: string, flags: RemoteFlags) =>
      withClient(flags, async (c, r) => {
        const res = await unary('router', r.address, c.getAssignment.bind(c), GetAssignmentRequest.fromPartial({ userId }), r);
        if (flags.json) return io.out(toJson(res));
        io.out(`user ${res.userId} (configuration "${res.configVersion || '-'}")${res.holdout ? ': in the holdout' : ''}\n`);
        if (res.assignments.length > 0) io.out(table(['layer', 'experiment', 'arm'], res.assignments.map((a) => [a.layer, a.experiment, a.arm])));
        else if (!res.holdout) io.out('in no experiment\n');
        io.out(
          `treatment: scorer ${res.scorer}; models ${pairs(res.modelVersions) === '-' ? 'router defaults' : pairs(res.modelVersions)}; weights ${pairs(res.headWeights)}; snapshot ${res.snapshotVersion || 'active'}\n`,
        );
      }),
  );

  remoteOptions(experiments.command('reload').description('re-read the configuration file now; a refused configuration leaves the old one serving; admin'), 'router').action((flags: RemoteFlags) =>
    withClient(flags, async (c, r) => {
      const res = await unary('router', r.address, c.reloadExperiments.bind(c), ReloadExperimentsRequest.fromPartial({}), r);
      io.out(flags.json ? toJson(res) : `${res.changed ? 'applied' : 'unchanged'}: configuration "${res.configVersion || '-'}" from ${res.source}\n`);
    }),
  );

  experiments
    .command('validate <file>')
    .description('check a configuration file offline (format, fractions, names, layer ownership); the router also checks models and snapshots when it loads it')
    .option('--json', 'print the parsed configuration as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const config = parseExperimentsJson(await readFile(file, 'utf8'), file);
      if (flags.json) return io.out(toJson(config));
      const arms = config.layers.flatMap((l) => l.experiments.flatMap((e) => e.arms.map((a) => [l.name, e.name, a.name, pct(armTrafficShare(config, e, a))])));
      io.out(`${file}: valid (version "${config.version ?? '-'}", ${config.layers.length} layer(s), holdout ${pct(config.holdout?.fraction ?? 0)})\n`);
      io.out(table(['layer', 'experiment', 'arm', 'traffic'], arms));
    });
}
