import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { GRPCInferenceServiceClient, ModelInferRequest, type ModelStreamInferResponse } from '@pinrank/proto';
import pino from 'pino';
import { startInferenceWorker } from './inference-worker';
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
