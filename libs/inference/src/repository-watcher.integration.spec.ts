import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRepository } from './model-repository';
import { RepositoryWatcher } from './repository-watcher';
import { affineConfig, affineModel, writeVersion } from './testing/tiny-models';

// Real directory events: the poll interval is far longer than the test, so only fs.watch can report the change.
describe('RepositoryWatcher on a real directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'pinrank-watch-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("mode 'fs' reports a version renamed into place", async () => {
    const repository = new ModelRepository(root);
    let report!: (seen: { models: string[]; versions: string[] }) => void;
    const reported = new Promise<{ models: string[]; versions: string[] }>((resolve) => (report = resolve));
    const watcher = new RepositoryWatcher({
      repository,
      mode: 'fs',
      pollIntervalMs: 600_000,
      debounceMs: 20,
      onChange: async (models) => report({ models, versions: (await repository.listVersions('aff')).map((v) => v.version) }),
    });
    await watcher.start();
    try {
      await writeVersion(root, affineConfig('aff', '1', 3, 2), affineModel(3, 2));
      // Reported once complete: the staging directory alone did not count.
      expect(await reported).toEqual({ models: ['aff'], versions: ['1'] });
    } finally {
      await watcher.stop();
    }
  });
});
