import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TensorMap } from './host-tensor';
import { ModelRepository } from './model-repository';
import { ModelRepositoryManager, type ModelRepositoryManagerOptions } from './model-repository-manager';
import { affineConfig, affineModel, gatherConfig, gatherModel, seededFloats, writeVersion } from './testing/tiny-models';

const x = (n: number, seed = 1): TensorMap => ({ x: { dtype: 'float32', dims: [n, 3], data: seededFloats(n * 3, seed) } });

describe('ModelRepositoryManager', () => {
  let root: string;
  let manager: ModelRepositoryManager | undefined;
  const make = (o: Partial<ModelRepositoryManagerOptions> = {}) =>
    (manager = new ModelRepositoryManager({ repository: new ModelRepository(root), intraOpThreads: 1, interOpThreads: 1, ...o }));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-inference-'));
  });
  afterEach(async () => {
    await manager?.close();
    manager = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('serves the newest version by default and the newest N or named ones by policy', async () => {
    for (const v of ['1', '2', '10']) await writeVersion(root, affineConfig('aff', v, 3, 2), affineModel(3, 2, Number(v)));
    const m = make();
    await m.loadAll();
    expect(m.lifecycle.index().map((r) => [r.version, r.state, r.provider])).toEqual([['10', 'READY', 'cpu']]);
    expect((await m.lifecycle.infer('aff', '', x(2), [])).version).toBe('10');
    await m.close();

    const latest2 = make({ versionPolicy: { latest: 2 } });
    await latest2.loadAll();
    expect(latest2.lifecycle.readyVersions('aff')).toEqual(['10', '2']);
    expect((await latest2.lifecycle.infer('aff', '2', x(1), ['y'])).version).toBe('2');
    await latest2.close();

    const named = make({ versionPolicies: { aff: { versions: ['1'] } } });
    await named.loadAll();
    expect(named.lifecycle.readyVersions('aff')).toEqual(['1']);
    await expect(named.lifecycle.infer('aff', '10', x(1), [])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a version that breaks its contract; the previous version keeps serving', async () => {
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    const m = make();
    await m.loadAll();
    const before = await m.lifecycle.infer('aff', '', x(2), []);
    // v2 declares x as [N,4] but the graph takes [N,3].
    await writeVersion(root, affineConfig('aff', '2', 4, 2), affineModel(3, 2, 2));
    await m.refresh(['aff']);
    const v2 = m.lifecycle.index().find((r) => r.version === '2')!;
    expect(v2.state).toBe('UNAVAILABLE');
    expect(v2.reason).toMatch(/contract check failed: input "x" axis 1: config says 4, the model has 3/);
    expect(m.lifecycle.readyVersions('aff')).toEqual(['1']);
    const after = await m.lifecycle.infer('aff', '', x(2), []);
    expect(after.version).toBe('1');
    expect(after.outputs[0]![1].data).toEqual(before.outputs[0]![1].data);
    // A model file that is not ONNX at all is refused the same way.
    await writeVersion(root, affineConfig('aff', '3', 3, 2), new Uint8Array([1, 2, 3]));
    await m.refresh(['aff']);
    expect(m.lifecycle.index().find((r) => r.version === '3')?.state).toBe('UNAVAILABLE');
    expect(m.lifecycle.readyVersions('aff')).toEqual(['1']);
    // RepositoryModelLoad retries and reports the failure.
    await expect(m.load('aff')).resolves.toBeUndefined(); // v1 is still ready, so the model loads
    await rm(join(root, 'aff', '1'), { recursive: true });
    await m.refresh(['aff']);
    expect(m.lifecycle.readyVersions('aff')).toEqual(['1']); // nothing newer works, so v1 stays in memory
    await writeVersion(root, affineConfig('aff', '3', 3, 2), affineModel(3, 2, 3));
    await m.refresh(['aff']);
    expect(m.lifecycle.readyVersions('aff')).toEqual(['3']);
  });

  it('swaps versions under continuous load without failing a request', async () => {
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    const m = make();
    await m.loadAll();
    let running = true;
    const served = new Map<string, number>();
    const failures: unknown[] = [];
    const client = async (seed: number): Promise<void> => {
      while (running) {
        try {
          const r = await m.lifecycle.infer('aff', '', x(1 + (seed % 3), seed), []);
          served.set(r.version, (served.get(r.version) ?? 0) + 1);
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const clients = [1, 2, 3, 4].map(client);
    const waitForServed = async (version: string) => {
      while (!served.get(version)) await new Promise((r) => setImmediate(r));
    };
    await waitForServed('1');
    await writeVersion(root, affineConfig('aff', '2', 3, 2), affineModel(3, 2, 2));
    await m.refresh(['aff']);
    await waitForServed('2');
    await writeVersion(root, affineConfig('aff', '3', 3, 2), affineModel(3, 2, 3));
    await m.refresh(['aff']);
    await waitForServed('3');
    running = false;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(m.lifecycle.index().map((r) => [r.version, r.state])).toEqual([['3', 'READY']]);
  });

  it('unloads and reloads a model on request, and filters by placement', async () => {
    await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2, 1));
    await writeVersion(root, gatherConfig('enc', '1', 4, 5), gatherModel(4, 5));
    const m = make({ placements: ['cpu'] });
    await m.loadAll();
    expect(m.lifecycle.index().map((r) => [r.name, r.state])).toEqual([
      ['aff', 'READY'],
      ['enc', 'UNAVAILABLE'],
    ]);
    expect(m.lifecycle.index()[1]!.reason).toMatch(/placement gpu is not served by this worker \(serves cpu\)/);
    await m.unload('aff');
    expect(m.lifecycle.index()[0]).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded by request' });
    await expect(m.lifecycle.infer('aff', '', x(1), [])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await m.refresh(['aff']); // the watcher leaves an unloaded model alone
    expect(m.lifecycle.readyVersions('aff')).toEqual([]);
    await m.load('aff');
    expect(m.lifecycle.readyVersions('aff')).toEqual(['1']);
    await expect(m.load('enc')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(m.load('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports a config that does not match its directory', async () => {
    const config = affineConfig('aff', '1', 3, 2);
    const dir = await writeVersion(root, config, affineModel(3, 2, 1));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, version: '7' }));
    const m = make();
    await m.loadAll();
    expect(m.lifecycle.index()[0]).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringMatching(/config names aff\/7 but sits in aff\/1/) });
  });
});
