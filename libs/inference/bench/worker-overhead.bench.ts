// Where a worker call's time goes beyond the model (docs/benchmarks.md, "inference workers"): the newest
// release transact_encoder (1 user × 100 actions, N candidates) called four ways in one process, interleaved
// call by call: ModelInfer over gRPC to a worker on loopback (the service kit's client options), the same
// request as a message of one open ModelStreamInfer call (what the router sends by default), the worker's
// own ModelLifecycle.infer (contract checks, request limits, batcher) without gRPC, and the ONNX Runtime
// session alone; and ModelInfer to a second worker whose sessions compute in their own threads
// (RANKER_SESSION_THREADS). Differences: what the worker's scheduling costs, what moving the tensors over
// gRPC costs (the encoder's answer is N × 1056 floats: 42 kB at 10 candidates, 2.1 MB at 500), and what
// the thread hand-off costs or saves.
//   npm run bench worker-overhead [-- --candidates 10,100,500 --calls 200 --models models --smoke]
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import pino from 'pino';
import { GRPCInferenceServiceClient, type ModelStreamInferResponse } from '@pinrank/proto';
import { clientChannelOptions } from '@pinrank/service-kit';
import { startInferenceWorker } from '../src/inference-worker';
import { decodeInferInputs } from '../src/tensor-codec';
import { SEQUENCE_LENGTH, transactRequest } from './transact-request';

const { values: args } = parseArgs({
  options: {
    candidates: { type: 'string', default: '10,100,500' },
    calls: { type: 'string', default: '200' },
    models: { type: 'string', default: 'models' },
    smoke: { type: 'boolean', default: false },
  },
});
// --smoke: two sizes, a few calls; checks that every path answers; times nothing.
if (args.smoke) Object.assign(args, { candidates: '2,10', calls: '6' });
const SIZES = String(args.candidates).split(',').map(Number);
const CALLS = Number(args.calls);
const WARMUP = Math.min(20, Math.ceil(CALLS / 5));

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'pinrank-worker-overhead-'));
  await cp(join(args.models!, 'transact_encoder'), join(root, 'transact_encoder'), { recursive: true });
  const start = (sessionThreads: boolean) =>
    startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'], sessionThreads },
      watch: { mode: 'off' },
      server: { signals: [] },
      logger: pino({ level: 'silent' }),
    });
  const [worker, threadedWorker] = [await start(false), await start(true)];
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure(), clientChannelOptions());
  const threadedClient = new GRPCInferenceServiceClient(`127.0.0.1:${threadedWorker.server.port}`, credentials.createInsecure(), clientChannelOptions());
  try {
    const { lifecycle } = worker;
    const { version, instance } = lifecycle.ready('transact_encoder');
    const rows: string[] = [];
    const report: Record<string, unknown> = {};
    for (const n of SIZES) {
      const req = transactRequest(n, 7);
      const inputs = decodeInferInputs(req).inputs;
      const overGrpc =
        (c: GRPCInferenceServiceClient) =>
        (): Promise<void> =>
          new Promise((resolve, reject) =>
            c.modelInfer(req, new Metadata(), { deadline: Date.now() + 30_000 }, (err: ServiceError | null) => (err ? reject(new Error(`ModelInfer failed: ${err.details}`)) : resolve())),
          );
      // One open stream; each call writes its request and waits for its answer (one in flight at a time).
      const stream = client.modelStreamInfer(new Metadata());
      let answered: ((m: ModelStreamInferResponse) => void) | undefined;
      stream.on('data', (m: ModelStreamInferResponse) => answered?.(m));
      stream.on('error', () => undefined); // cancelled when the bench closes the client
      const overStream = (): Promise<void> =>
        new Promise((resolve, reject) => {
          answered = (m) => (m.errorMessage ? reject(new Error(`ModelStreamInfer message failed: ${m.errorMessage}`)) : resolve());
          stream.write(req);
        });
      const paths: Array<[string, () => Promise<unknown>]> = [
        ['grpc', overGrpc(client)],
        ['stream', overStream],
        ['threaded', overGrpc(threadedClient)],
        ['lifecycle', () => lifecycle.infer('transact_encoder', '', inputs, [])],
        ['session', () => instance.session.run(inputs)],
      ];
      const times: Record<string, number[]> = { grpc: [], stream: [], threaded: [], lifecycle: [], session: [] };
      for (let i = 0; i < WARMUP + CALLS; i++) {
        // Rotate which path goes first, so none always follows the same one.
        for (let k = 0; k < paths.length; k++) {
          const [name, run] = paths[(i + k) % paths.length]!;
          const t = performance.now();
          await run();
          if (i >= WARMUP) times[name]!.push(performance.now() - t);
        }
      }
      stream.end();
      const m = { grpc: median(times.grpc!), stream: median(times.stream!), threaded: median(times.threaded!), lifecycle: median(times.lifecycle!), session: median(times.session!) };
      report[`n${n}`] = m;
      const answerKb = (n * 1056 * 4) / 1000;
      rows.push(
        `| ${n} | ${m.session.toFixed(2)} | ${m.lifecycle.toFixed(2)} (+${(m.lifecycle - m.session).toFixed(2)}) | ${m.grpc.toFixed(2)} (+${(m.grpc - m.lifecycle).toFixed(2)}) | ` +
          `${(m.grpc / m.session).toFixed(2)}× | ${m.stream.toFixed(2)} (+${(m.stream - m.lifecycle).toFixed(2)}; ${(m.stream / m.grpc).toFixed(3)}× unary) | ${m.threaded.toFixed(2)} (${(m.threaded / m.grpc).toFixed(3)}×) | ${answerKb.toFixed(0)} kB | ${(((m.grpc - m.lifecycle) / answerKb) * 1000).toFixed(1)} |`,
      );
    }
    process.stdout.write(
      [
        `transact_encoder version ${version} (1 user × ${SEQUENCE_LENGTH} actions), 1 intra-op thread; medians of ${CALLS} calls per path, interleaved; client and worker in one process.`,
        '',
        '| candidates | session.run ms | lifecycle.infer ms (+ scheduling) | ModelInfer over gRPC ms (+ gRPC) | gRPC ÷ session | a ModelStreamInfer message ms (+ gRPC; ÷ unary) | over gRPC, session in a thread ms (÷ main thread) | answer size | gRPC µs per kB of answer |',
        '|---|---|---|---|---|---|---|---|---|',
        ...rows,
        '',
        JSON.stringify(report),
        '',
      ].join('\n'),
    );
  } finally {
    client.close();
    threadedClient.close();
    await worker.close();
    await threadedWorker.close();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
