import { DynamicBatcher } from './dynamic-batcher';
import { type TensorMap } from './host-tensor';
import { OrtModelSession, cudaUnavailableReason, ortSessionOptions } from './ort-backend';
import { SessionThread } from './ort-session-thread';
import { affineModel, gatherMlpModel, gatherModel, seededFloats } from './testing/tiny-models';

const f32 = (dims: number[], seed: number) => ({ dtype: 'float32' as const, dims, data: seededFloats(dims.reduce((a, b) => a * b, 1), seed) });
const i64 = (values: number[]) => ({ dtype: 'int64' as const, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

describe('OrtModelSession', () => {
  it('falls back through the configured providers and records why each was passed over', async () => {
    const session = await OrtModelSession.create(affineModel(3, 2), {
      label: 'affine:1',
      executionProviders: ['webgpu', 'cuda', 'cpu'],
      intraOpThreads: 1,
      interOpThreads: 1,
    });
    try {
      // This machine has no GPU adapter and no CUDA libraries: cpu is what runs.
      expect(session.provider).toBe('cpu');
      expect(session.fallbacks.map((f) => f.provider)).toEqual(['webgpu', 'cuda']);
      expect(session.fallbacks[1]!.reason).toBe(cudaUnavailableReason());
      for (const f of session.fallbacks) expect(f.reason.length).toBeGreaterThan(5);
      expect(session.signature().inputs).toEqual([{ name: 'x', type: 'float32', shape: ['N', 3] }]);
    } finally {
      await session.release();
    }
  });

  it('turns the pool threads’ spin-waiting off unless asked for, and leaves 0 threads to ONNX Runtime', async () => {
    const quiet = ortSessionOptions('cpu', { intraOpThreads: 2, interOpThreads: 0 });
    expect(quiet).toMatchObject({ executionProviders: ['cpu'], intraOpNumThreads: 2, enableCpuMemArena: true, extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } });
    expect(quiet).not.toHaveProperty('interOpNumThreads');
    const spinning = ortSessionOptions('cpu', { intraOpThreads: 0, interOpThreads: 1, spinning: true, memoryArena: false });
    expect(spinning).not.toHaveProperty('extra');
    expect(spinning).not.toHaveProperty('intraOpNumThreads');
    expect(spinning).toMatchObject({ interOpNumThreads: 1, enableCpuMemArena: false });
    // ONNX Runtime takes the entries: a session with them computes as one without.
    const session = await OrtModelSession.create(affineModel(3, 2), { label: 'affine:quiet', executionProviders: ['cpu'], intraOpThreads: 2, interOpThreads: 1 });
    try {
      const out = await session.run({ x: f32([2, 3], 1) }, ['y']);
      expect(out['y']?.dims).toEqual([2, 2]);
    } finally {
      await session.release();
    }
  });

  it('throws with every reason when no provider works', async () => {
    await expect(
      OrtModelSession.create(affineModel(3, 2), { label: 'affine:1', executionProviders: ['cuda'], intraOpThreads: 1, interOpThreads: 1 }),
    ).rejects.toThrow(/no execution provider could run affine:1: cuda: /);
  });

  it('in its own thread: the same signature and outputs, errors with the runtime text, and a released thread refuses work', async () => {
    const options = { label: 'gather:1', executionProviders: ['cpu' as const], intraOpThreads: 1, interOpThreads: 1 };
    const [plain, threaded] = await Promise.all([OrtModelSession.create(gatherModel(4, 5), options), OrtModelSession.create(gatherModel(4, 5), { ...options, thread: true })]);
    try {
      expect([plain.threaded, threaded.threaded]).toEqual([false, true]);
      expect(threaded.signature()).toEqual(plain.signature());
      // A view into a larger buffer, as decoded from a gRPC message: the caller's buffer must stay usable.
      const backing = seededFloats(3 * 4 + 8, 5);
      const inputs: TensorMap = { seq: { dtype: 'float32', dims: [1, 3, 4], data: backing.subarray(4, 16) }, cand: f32([6, 4], 6), cand_user_idx: i64([0, 0, 0, 0, 0, 0]) };
      const want = await plain.run(inputs);
      const got = await Promise.all([threaded.run(inputs), threaded.run(inputs, ['encoded'])]);
      for (const out of got) {
        expect(out['encoded']!.dims).toEqual(want['encoded']!.dims);
        expect(Array.from(out['encoded']!.data as Float32Array)).toEqual(Array.from(want['encoded']!.data as Float32Array));
      }
      expect(backing.length).toBe(20);
      expect(backing[4]).toBe(seededFloats(3 * 4 + 8, 5)[4]);
      // An index out of range fails in the runtime; the error carries its words and the thread keeps serving.
      await expect(threaded.run({ ...inputs, cand_user_idx: i64([0, 0, 0, 0, 0, 7]) })).rejects.toThrow(/./);
      expect(Array.from((await threaded.run(inputs))['encoded']!.data as Float32Array)).toEqual(Array.from(want['encoded']!.data as Float32Array));
    } finally {
      await Promise.all([plain.release(), threaded.release()]);
    }
    await expect(threaded.run({})).rejects.toThrow(/ONNX Runtime thread exited/);
  });

  it('a session thread that dies is started again with the same model, up to 5 times a minute; calls made meanwhile wait for it', async () => {
    const { thread } = await SessionThread.create('gather:1', gatherModel(4, 5), { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
    const kill = (): Promise<number> => (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const inputs: TensorMap = { seq: f32([1, 3, 4], 5), cand: f32([6, 4], 6), cand_user_idx: i64([0, 0, 0, 0, 0, 0]) };
    try {
      const want = Array.from((await thread.run(inputs))['encoded']!.data as Float32Array);
      for (let i = 1; i <= 5; i++) {
        await kill();
        // Made right after the death, while the thread starts again: it waits and is answered.
        expect(Array.from((await thread.run(inputs))['encoded']!.data as Float32Array)).toEqual(want);
        expect(thread.restartCount).toBe(i);
      }
      await kill();
      await expect(thread.run(inputs)).rejects.toThrow(/ONNX Runtime thread exited \(code 1\); not restarted: 5 restarts within 60 s/);
    } finally {
      await thread.release();
    }
  });

  it('in its own thread, the event loop keeps turning while a call computes; on the main thread it does not', async () => {
    const options = { label: 'mlp:1', executionProviders: ['cpu' as const], intraOpThreads: 1, interOpThreads: 1 };
    const model = gatherMlpModel(32, 1024, 256);
    const n = 4000;
    const inputs: TensorMap = { seq: f32([1, 4, 32], 1), cand: f32([n, 32], 2), cand_user_idx: i64(new Array<number>(n).fill(0)) };
    const turnsDuring = async (session: OrtModelSession): Promise<number> => {
      await session.run(inputs); // warm
      let turns = 0;
      let running = true;
      const spin = (): void => {
        turns++;
        if (running) setImmediate(spin);
      };
      setImmediate(spin);
      await session.run(inputs);
      running = false;
      return turns;
    };
    const plain = await OrtModelSession.create(model, options);
    const threaded = await OrtModelSession.create(model, { ...options, thread: true });
    try {
      const [blocked, free] = [await turnsDuring(plain), await turnsDuring(threaded)];
      // The main-thread run holds the loop for its whole compute (a turn or two at its edges).
      expect(blocked).toBeLessThanOrEqual(3);
      expect(free).toBeGreaterThan(20);
    } finally {
      await Promise.all([plain.release(), threaded.release()]);
    }
  });

  it('stacked batches give the same outputs as separate calls (concat)', async () => {
    const session = await OrtModelSession.create(affineModel(8, 5), { label: 'a', executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 });
    try {
      const requests: TensorMap[] = [1, 3, 2, 4].map((n, i) => ({ x: f32([n, 8], 10 + i) }));
      const separate = await Promise.all(requests.map((r) => session.run(r)));
      let batches = 0;
      const batcher = new DynamicBatcher({
        label: 'a',
        compute: (inputs) => {
          batches++;
          return session.run(inputs);
        },
        layout: { mode: 'concat', userInputs: [] },
        maxBatchSize: 64,
        maxQueueDelayMs: 0,
        queueLimit: 16,
        maxConcurrentBatches: 1,
      });
      // The first request runs alone at once; the other three queue behind it and stack.
      const stacked = await Promise.all(requests.map((r) => batcher.enqueue(r)));
      expect(batches).toBe(2);
      stacked.forEach((out, i) => {
        const want = separate[i]!['y']!;
        expect(out['y']!.dims).toEqual(want.dims);
        const got = out['y']!.data as Float32Array;
        (want.data as Float32Array).forEach((v, k) => expect(got[k]).toBeCloseTo(v, 6));
      });
    } finally {
      await session.release();
    }
  });

  it('stacked batches give the same outputs as separate calls (user_rows)', async () => {
    const d = 4;
    const session = await OrtModelSession.create(gatherModel(d, 6), { label: 'g', executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1 });
    try {
      const request = (users: number, idx: number[], seed: number): TensorMap => ({
        seq: f32([users, 3, d], seed),
        cand: f32([idx.length, d], seed + 100),
        cand_user_idx: i64(idx),
      });
      const requests = [request(1, [0, 0, 0], 1), request(2, [1, 0], 2), request(1, [0], 3), request(3, [2, 2, 0, 1], 4)];
      const separate = await Promise.all(requests.map((r) => session.run(r)));
      const seen: number[] = [];
      const batcher = new DynamicBatcher({
        label: 'g',
        compute: (inputs) => {
          seen.push(inputs['seq']!.dims[0]!);
          return session.run(inputs);
        },
        layout: { mode: 'user_rows', userInputs: ['seq'], indexInput: 'cand_user_idx' },
        maxBatchSize: 256,
        maxQueueDelayMs: 0,
        queueLimit: 16,
      });
      const stacked = await Promise.all(requests.map((r) => batcher.enqueue(r)));
      expect(seen).toEqual([1, 6]); // the last three requests ran as one batch of 2+1+3 user rows
      stacked.forEach((out, i) => {
        const want = separate[i]!['encoded']!;
        expect(out['encoded']!.dims).toEqual(want.dims);
        const got = out['encoded']!.data as Float32Array;
        (want.data as Float32Array).forEach((v, k) => expect(got[k]).toBeCloseTo(v, 6));
      });
    } finally {
      await session.release();
    }
  });
});
