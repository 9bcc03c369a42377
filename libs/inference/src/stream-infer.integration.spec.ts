import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { GRPCInferenceServiceClient, ModelInferRequest, type ModelStreamInferResponse } from '@pinrank/proto';
import { type CallContext } from '@pinrank/service-kit';
import pino from 'pino';
import { startInferenceWorker, type InferenceWorker } from './inference-worker';
import { CANCEL_PARAM } from './request-params';
import { STREAM_MAX_INFLIGHT } from './stream-infer';
import { inferStreamClient } from './stream-infer-client';
import { affineConfig, affineModel, writeVersion } from './testing/tiny-models';

// ModelStreamInfer across a worker's graceful shutdown: a client keeps one stream
// open for many requests (the router does), and it must not hold the shutdown.

const request = (id: string): ModelInferRequest =>
  ModelInferRequest.fromPartial({ modelName: 'aff', id, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } }] });

describe('ModelStreamInfer and a draining worker', () => {
  it('ends an open stream when the worker shuts down: what was sent is answered, and the shutdown does not wait out its timeout', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pinrank-stream-drain-'));
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    const worker = await startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 },
      watch: { mode: 'off' },
      server: { signals: [], shutdownTimeoutMs: 15_000 },
      logger: pino({ level: 'silent' }),
    });
    const client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure());
    try {
      const stream = client.modelStreamInfer(new Metadata());
      const answers: ModelStreamInferResponse[] = [];
      const ended = new Promise<string>((resolve) => {
        stream.on('end', () => resolve('end'));
        stream.on('error', (err: Error) => resolve(`error: ${err.message}`));
      });
      stream.on('data', (m: ModelStreamInferResponse) => answers.push(m));
      stream.write(request('a'));
      stream.write(request('b'));
      while (answers.length < 2) await new Promise((r) => setTimeout(r, 10));

      const started = Date.now();
      await worker.close();
      expect(Date.now() - started).toBeLessThan(3_000);
      // The worker ended the stream itself (OK), rather than cancelling it at the timeout.
      await expect(ended).resolves.toBe('end');
      expect(answers.map((a) => [a.inferResponse?.id, a.errorMessage])).toEqual([
        ['a', ''],
        ['b', ''],
      ]);
    } finally {
      client.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

// A request sent as a stream message has no call of its own to cancel: a second
// message with its id and `cancel` = true stops it (stream-cancels.ts).
describe('ModelStreamInfer cancellations', () => {
  let root: string;
  let worker: InferenceWorker;
  let client: GRPCInferenceServiceClient;
  // Requests wait 1 s (the most a config allows) for company in the batcher: they are still queued when their cancel comes.
  const slow = (id: string, params: ModelInferRequest['parameters'] = {}): ModelInferRequest =>
    ModelInferRequest.fromPartial({ ...request(id), modelName: 'slow', parameters: params });
  const cancel = (id: string, value: boolean | string = true): ModelInferRequest =>
    ModelInferRequest.fromPartial({ id, parameters: { [CANCEL_PARAM]: { parameterChoice: typeof value === 'boolean' ? { $case: 'boolParam', value } : { $case: 'stringParam', value } } } });
  /** A ModelStreamInfer call whose answers are collected in arrival order; `ended` resolves when the worker ends it. */
  const openStream = (): { stream: ClientDuplexStream<ModelInferRequest, ModelStreamInferResponse>; answers: ModelStreamInferResponse[]; ended: Promise<void> } => {
    const stream = client.modelStreamInfer(new Metadata());
    const answers: ModelStreamInferResponse[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.on('data', (m: ModelStreamInferResponse) => answers.push(m));
    return { stream, answers, ended };
  };
  const cancelledCount = async (): Promise<number> => {
    const m = /rpc_server_requests_total\{service="inference\.GRPCInferenceService",method="ModelInfer",code="CANCELLED"(?:,model="slow")?\} (\d+)/.exec(await worker.server.metrics.registry.metrics());
    return Number(m?.[1] ?? 0);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-stream-cancel-'));
    await writeVersion(root, affineConfig('slow', '1', 3, 2, { batching: { mode: 'concat', maxBatchSize: 64, maxQueueDelayMs: 1_000, queueLimit: 64, userInputs: [] } }), affineModel(3, 2, 1));
    worker = await startInferenceWorker({
      address: '127.0.0.1:0',
      repositoryRoot: root,
      models: { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, dispatchWhenIdle: false },
      watch: { mode: 'off' },
      server: { signals: [] },
      logger: pino({ level: 'silent' }),
    });
    client = new GRPCInferenceServiceClient(`127.0.0.1:${worker.server.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await worker?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('a cancel message stops the queued request with its id (answered CANCELLED, not run) and is not answered itself; a malformed one is refused', async () => {
    const { stream, answers, ended } = openStream();
    stream.write(slow('a', { timeout: { parameterChoice: { $case: 'int64Param', value: 30_000_000 } } }));
    stream.write(slow('b'));
    stream.write(cancel('a'));
    stream.write(cancel('never-sent'));
    stream.write(slow('bad', { [CANCEL_PARAM]: { parameterChoice: { $case: 'boolParam', value: false } } }));
    stream.write(cancel('b', 'yes'));
    stream.write(cancel('b'));
    stream.end();
    await ended;
    const byId = Object.fromEntries(answers.map((a) => [a.inferResponse?.id ?? '', a.errorMessage]));
    expect(Object.keys(byId).sort()).toEqual(['a', 'b', 'bad']);
    expect(byId['a']).toMatch(/^CANCELLED: /);
    expect(byId['bad']).toMatch(/^INVALID_ARGUMENT: parameters\["cancel"\] is only for ModelStreamInfer messages, as bool true/);
    // The cancel message with a string value was not a cancellation: it is answered under its id ('b') as a bad request.
    expect(answers.filter((a) => a.inferResponse?.id === 'b').map((a) => a.errorMessage.split(':')[0]).sort()).toEqual(['CANCELLED', 'INVALID_ARGUMENT']);
    // Counted: two cancels found their request, one ('never-sent') did not.
    const text = await worker.server.metrics.registry.metrics();
    expect(text).toContain('inference_stream_cancels_total{outcome="cancelled"} 2');
    expect(text).toContain('inference_stream_cancels_total{outcome="not_in_flight"} 1');
  });

  it('a unary ModelInfer with the cancel parameter is INVALID_ARGUMENT', async () => {
    const err = await new Promise<Error & { code?: number }>((resolve) => client.modelInfer(slow('u', { [CANCEL_PARAM]: { parameterChoice: { $case: 'boolParam', value: true } } }), (e) => resolve(e as Error)));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^parameters\["cancel"\] is only for ModelStreamInfer messages/) });
  });

  it('inferStreamClient: a request whose caller cancels fails CANCELLED at once, and the worker drops it', async () => {
    const streamClient = inferStreamClient(client, { target: `127.0.0.1:${worker.server.port}` });
    try {
      const before = await cancelledCount();
      const caller = new AbortController();
      const parent = { signal: caller.signal, deadline: undefined, otel: ROOT_CONTEXT } as unknown as CallContext;
      const started = Date.now();
      const pending = streamClient.call(slow(''), { timeoutMs: 20_000, parent });
      setTimeout(() => caller.abort(), 100);
      await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
      // The worker answered it CANCELLED too (without the cancel message it would have run, OK, after its 1 s in the queue).
      while ((await cancelledCount()) === before && Date.now() - started < 3_000) await new Promise((r) => setTimeout(r, 20));
      expect(await cancelledCount()).toBe(before + 1);
    } finally {
      streamClient.close();
    }
  });

  it('a cancel message is acted on at once even while the stream runs as many requests as it may: the requests waiting behind them are answered CANCELLED first', async () => {
    const { stream, answers, ended } = openStream();
    // STREAM_MAX_INFLIGHT requests fill the stream's slots for the batcher's 1 s; two more wait behind them.
    for (let i = 0; i < STREAM_MAX_INFLIGHT; i++) stream.write(slow(`r${i}`));
    stream.write(slow('late-1'));
    stream.write(slow('late-2'));
    stream.write(cancel('late-2'));
    stream.write(cancel('late-1'));
    stream.end();
    await ended;
    const order = answers.map((m) => `${m.inferResponse?.id ?? ''}:${m.errorMessage.split(':')[0] || 'OK'}`);
    // Read in turn, the cancels would wait for a slot: the late requests would run after the others, OK.
    expect(order.slice(0, 2).sort()).toEqual(['late-1:CANCELLED', 'late-2:CANCELLED']);
    expect(order.slice(2).every((a) => a.endsWith(':OK'))).toBe(true);
    expect(order).toHaveLength(STREAM_MAX_INFLIGHT + 2);
  });
});
