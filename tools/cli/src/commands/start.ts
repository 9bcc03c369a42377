import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { MAX_ACTION_PARTITIONS, SERVICE_IDENTITIES } from '@pinrank/contracts';
import { repoRoot } from '@pinrank/service-kit';
import { EmbeddingStoreClient, ListSnapshotsRequest, LoadSnapshotRequest, SnapshotState } from '@pinrank/proto';
import { CliError } from '../cli-error';
import { type CliIo } from '../io';
import { openClient, unary } from '../remote/call';
import { table } from '../remote/table';
import { localStackServices, stackPortsInUse, type StackNatsSecurity } from '../stack/local-stack';
import { portsTaken } from '../stack/port-check';
import { ManagedProcess } from '../stack/managed-process';
import { prepareStackData } from '../stack/prepare-data';
import { feedFeatureServer, historyLoadedLine } from '../stack/replay-feed';
import { RestartPolicy } from '../stack/restart-policy';
import { describeEvent, SupervisedService } from '../stack/supervised-service';
import { ensureStackPki, stackClientTls } from '../stack/stack-pki';
import { natsSecurityFlagsGiven, natsSecurityOf, natsSecurityOptions, natsTlsWanted, type NatsSecurityFlags } from './nats-options';
import { intOption, numberOption } from './options';
import { PhaseProgress } from './progress';

interface StartFlags extends NatsSecurityFlags {
  data: string;
  host: string;
  port: number;
  seed: number;
  users?: number;
  items?: number;
  days?: number;
  historyDays: number;
  speedup: number;
  replay: boolean;
  redis?: string;
  nats?: string;
  natsPartitions: number;
  replayVia: 'grpc' | 'nats';
  quiet?: boolean;
  built?: boolean;
  progress: boolean;
  maxRestarts: number;
  restartWindow: number;
  insecure?: boolean;
}

const START_TIMEOUT_MS = 180_000;
/** The subject the stack's feature-server consumes the action stream on (its FEATURE_SERVER_NATS_SUBJECT default). */
const ACTION_SUBJECT = 'pinrank.actions';
/** Deadline of the start-up admin calls to the local embedding-store: it may be busy loading a snapshot on a loaded machine. */
const ADMIN_CALL_MS = 30_000;

async function waitSnapshotActive(client: EmbeddingStoreClient, address: string, version: string, token: string): Promise<void> {
  for (;;) {
    const res = await unary('embedding-store', address, client.listSnapshots.bind(client), ListSnapshotsRequest.fromPartial({}), { timeoutMs: ADMIN_CALL_MS, token });
    const snap = res.snapshots.find((s) => s.version === version);
    if (snap?.state === SnapshotState.SNAPSHOT_STATE_FAILED) throw new Error(`snapshot ${version} failed to load: ${snap.error}`);
    if (res.activeVersion === version) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `pinrank start` (`npm start`): the whole platform on one machine, on embedded defaults. */
export function registerStart(program: Command, io: CliIo): void {
  natsSecurityOptions(
    program
      .command('start')
      .description('run the whole platform on this machine: embedding-store, feature-server, GPU- and CPU-role workers, router')
      .option('--data <dir>', 'data directory (world, snapshots, LMDB files); generated on first start', '.cache/stack')
      .option('--host <host>', 'address every service binds to', '127.0.0.1')
      .option('--port <n>', "router port; the others follow the README's table", intOption(1024, 65000), 50050)
      .option('--seed <n>', 'simulated world seed', intOption(0), 1)
      .option('--users <n>', 'simulated users (default: the simulator default)', intOption(1))
      .option('--items <n>', 'simulated items (default: the simulator default)', intOption(2))
      .option('--days <n>', 'simulated days (default: the simulator default)', numberOption(1))
      .option('--history-days <n>', 'days of history bulk-loaded into feature-server before the live replay', numberOption(0), 3)
      .option('--speedup <x>', 'live replay speed (simulated ms per wall ms)', numberOption(1e-6), 1)
      .option('--no-replay', 'do not feed feature-server from the simulated action stream')
      .option('--redis <url>', 'use Redis (e.g. redis://127.0.0.1:6379) instead of embedded LMDB')
      .option('--nats <url>', 'also consume actions from NATS JetStream (e.g. nats://127.0.0.1:4222)')
      .option('--nats-partitions <n>', 'partitions of the JetStream action stream (FEATURE_SERVER_NATS_PARTITIONS)', intOption(1, MAX_ACTION_PARTITIONS), 1)
      .addOption(new Option('--replay-via <way>', 'how the live replay reaches feature-server: IngestActions calls, or published onto the JetStream action stream (needs --nats)').choices(['grpc', 'nats']).default('grpc'))
      .option('--quiet', "don't forward the services' log lines")
      .option('--built', 'run the bundles from `nx build` (dist/) instead of the sources')
      .option('--no-progress', 'do not draw progress bars')
      .option('--max-restarts <n>', 'a service that exits is restarted; more than this many exits within --restart-window stops the stack', intOption(0, 1000), 5)
      .option('--restart-window <s>', 'window (seconds) over which --max-restarts counts exits', intOption(1, 86_400), 60)
      .option('--insecure', 'plaintext and no authorization policy (debugging); admin RPCs still need the admin token'),
    "the feature-server presenting its certificate and the replay the producer's, both of <data>/pki, trusting its CA (unless --nats-ca)",
  )
    .action(async (flags: StartFlags) => {
      if (flags.replayVia === 'nats' && !flags.nats) throw new CliError('--replay-via nats publishes onto JetStream: give the NATS server with --nats <url>', 'usage');
      const natsFlags = natsSecurityFlagsGiven(flags);
      if (natsFlags.length > 0 && !flags.nats) throw new CliError(`${natsFlags.join(', ')}: only with --nats <url>`, 'usage');
      if (flags.nats?.split(',').some((u) => u.trim().startsWith('tls://')) && !natsTlsWanted(flags))
        throw new CliError(`--nats ${flags.nats} asks for TLS: add --nats-tls (the stack's certificates, for a NATS server with <data>/pki/nats.crt) or --nats-ca <file> (the NATS server's CA)`, 'usage');
      if (natsTlsWanted(flags) && flags.insecure && !flags.natsCa)
        throw new CliError('--nats-tls with --insecure: the stack has no certificates to present or trust; give the NATS server\'s CA with --nats-ca', 'usage');
      if (Boolean(flags.natsUser) !== Boolean(flags.natsPasswordFile)) throw new CliError('--nats-user and --nats-password-file go together', 'usage');
      if (flags.natsCreds && flags.natsUser) throw new CliError('--nats-creds and --nats-user: NATS takes one of them', 'usage');
      // The services run elsewhere than the working directory: every file by its absolute path.
      const absolute = (file: string | undefined): string | undefined => (file === undefined ? undefined : resolve(file));
      const nats: NatsSecurityFlags = { natsTls: natsTlsWanted(flags), natsCa: absolute(flags.natsCa), natsCreds: absolute(flags.natsCreds), natsUser: flags.natsUser, natsPasswordFile: absolute(flags.natsPasswordFile) };
      const natsSecurity: StackNatsSecurity = { tls: Boolean(nats.natsTls), caFile: nats.natsCa, credsFile: nats.natsCreds, user: nats.natsUser, passwordFile: nats.natsPasswordFile };
      // A stack already running here (or anything else on these ports) would answer the health checks for
      // services that cannot bind: refuse now instead of crash-looping.
      const taken = await portsTaken(flags.host, stackPortsInUse(flags.port));
      if (taken.length > 0) {
        throw new CliError(
          `${taken.map((t) => `port ${t.port} (${t.what})`).join(', ')} on ${flags.host} ${taken.length === 1 ? 'is' : 'are'} in use, perhaps by another pinrank stack: stop it, or start this one elsewhere with --port (the router's port; the others follow it)`,
          'failure',
        );
      }
      const root = repoRoot();
      const dataDir = resolve(flags.data);
      const progress = new PhaseProgress(flags.progress && io.errIsTty);
      const data = await prepareStackData({
        dataDir,
        modelRoot: resolve(root, 'models'),
        seed: flags.seed,
        users: flags.users,
        items: flags.items,
        days: flags.days,
        historyFraction: 0.9,
        log: (l) => io.err(`${l}\n`),
        onProgress: (phase, done, total) => progress.update(phase, done, total),
      });
      progress.stop();

      // Mutual TLS and the authorization policies are on unless --insecure: certificates live in <data>/pki.
      const pki = flags.insecure ? undefined : ensureStackPki(dataDir, flags.host);
      if (pki && pki.issued.length > 0) io.err(`certificates issued in ${pki.dir}: ${pki.issued.join(', ')}\n`);
      const { services, adminToken } = localStackServices({
        ...(pki ? { pki } : {}),
        root,
        dataDir,
        host: flags.host,
        basePort: flags.port,
        ...(flags.redis ? { redisUrl: flags.redis } : {}),
        ...(flags.nats ? { natsUrl: flags.nats, natsPartitions: flags.natsPartitions, natsSecurity } : {}),
      });
      // Settles when the stack is over: with a message when a service crash-looped, empty after Ctrl-C.
      let finish: ((message: string) => void) | undefined;
      const finished = new Promise<string>((resolve) => (finish = resolve));
      const running: SupervisedService[] = [];
      const abort = new AbortController();
      let stopping = false;
      const stopAll = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        abort.abort(new Error('stopping'));
        io.err('draining every service …\n');
        // Router first (stops taking requests), then the services it calls.
        for (const p of [...running].reverse()) await p.stop();
        io.err('stopped.\n');
        finish?.('');
      };
      // The first SIGINT/SIGTERM drains every service; a second one stops waiting, but still leaves no service
      // running behind: each is killed before the command exits.
      let signals = 0;
      const onSignal = (): void => {
        if (++signals === 1) return void stopAll();
        io.err('second signal: killing every service now\n');
        for (const s of running) {
          if (s.pid === undefined) continue;
          try {
            process.kill(s.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const log = (name: string, line: string): void => {
        if (!flags.quiet) io.err(`[${name}] ${line}\n`);
      };

      try {
        const byName = new Map(services.map((s) => [s.name, s]));
        // Each service is supervised: a process that dies is restarted with backoff while the
        // others keep serving (the router degrades with flags meanwhile); a crash loop stops the stack.
        const startOne = async (name: string): Promise<void> => {
          const spec = byName.get(name) as (typeof services)[number];
          const s = new SupervisedService(name, {
            launch: () => new ManagedProcess({ ...spec, fromSource: !flags.built }, root, log),
            policy: new RestartPolicy({ maxRestarts: flags.maxRestarts, windowMs: flags.restartWindow * 1000 }),
            startTimeoutMs: START_TIMEOUT_MS,
            onEvent: (e) => {
              if (e.kind !== 'gave-up') io.err(`[supervisor] ${describeEvent(e)}\n`);
            },
          });
          running.push(s);
          await s.start();
          void s.gaveUp.then((m) => finish?.(m));
        };
        await startOne('embedding-store');
        const es = byName.get('embedding-store')?.address as string;
        const esClient = openClient(EmbeddingStoreClient, es, pki ? stackClientTls(pki, SERVICE_IDENTITIES.operator) : undefined);
        try {
          const list = await unary('embedding-store', es, esClient.listSnapshots.bind(esClient), ListSnapshotsRequest.fromPartial({}), { timeoutMs: ADMIN_CALL_MS });
          if (list.activeVersion !== data.snapshotVersion) {
            await unary(
              'embedding-store',
              es,
              esClient.loadSnapshot.bind(esClient),
              LoadSnapshotRequest.fromPartial({ userFile: data.userFile, itemFile: data.itemFile, activate: true }),
              { timeoutMs: ADMIN_CALL_MS, token: adminToken },
            );
            await waitSnapshotActive(esClient, es, data.snapshotVersion, adminToken);
          }
        } finally {
          esClient.close();
        }
        await Promise.all([startOne('feature-server'), startOne('gpu-worker'), startOne('cpu-worker')]);
        await startOne('router');

        io.out('\npinrank is running:\n');
        const pids = new Map(running.map((s) => [s.name, s.pid]));
        io.out(table(['service', 'gRPC', 'metrics', 'pid'], services.map((s) => [s.name, s.address, `http://${s.metricsAddress}/metrics`, String(pids.get(s.name) ?? '')])));
        io.out(`snapshot ${data.snapshotVersion}; world ${data.worldDir}; admin token ${adminToken}\n`);
        io.out(pki ? `mutual TLS and authorization on; client certificates in ${pki.dir} (pinrank commands use them; --tls-dir for another data folder)\n` : 'plaintext, authorization off (--insecure): client commands need --plaintext\n');
        io.out(`try:  npx pinrank recommend --user u42   |   npx pinrank health   |   Ctrl-C stops everything\n\n`);

        if (flags.replay) {
          void feedFeatureServer({
            worldDir: data.worldDir,
            manifest: data.manifest,
            address: byName.get('feature-server')?.address as string,
            ...(pki ? { tls: stackClientTls(pki, SERVICE_IDENTITIES.producer) } : {}),
            liveFromMs: data.liveFromMs,
            historyDays: flags.historyDays,
            speedup: flags.speedup,
            ...(flags.replayVia === 'nats' && flags.nats
              ? {
                  liveVia: {
                    servers: flags.nats,
                    subject: ACTION_SUBJECT,
                    partitions: flags.natsPartitions,
                    // The replay publishes as the stack's action producer, with the feature-server's NATS credentials.
                    security: natsSecurityOf(nats, pki ? stackClientTls(pki, SERVICE_IDENTITIES.producer) : undefined, 'the stack has no certificates (--insecure)'),
                  },
                }
              : {}),
            signal: abort.signal,
            onPause: (err) => io.err(`action replay paused (${err.message}); retrying until feature-server is back\n`),
            onHistoryLoaded: (s) =>
              io.err(`feature-server: ${historyLoadedLine(s, flags.historyDays)}; live replay at ${flags.speedup}× from now on${flags.replayVia === 'nats' ? `, published onto JetStream (${flags.natsPartitions} partition${flags.natsPartitions === 1 ? '' : 's'})` : ''}\n`),
          }).catch((err: Error) => {
            if (!stopping) io.err(`action replay stopped: ${err.message}\n`);
          });
        }
        const message = await finished;
        if (message && !stopping) {
          io.err(`[supervisor] ${message}\n`);
          process.exitCode = 1;
          await stopAll();
        }
      } catch (err) {
        await stopAll();
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
