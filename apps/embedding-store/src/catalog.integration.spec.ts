import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog } from './catalog';
import { contentKey } from './store/keys';
import { TEST_BACKENDS, type TestStore } from './testing/backends';
import { unitVector, writeCatalog } from './testing/fixtures';

describe.each(TEST_BACKENDS)('loadCatalog on $name', ({ make }) => {
  let t: TestStore;
  let dir: string;
  beforeEach(async () => {
    t = await make(20);
    dir = await mkdtemp(join(tmpdir(), 'es-cat-'));
  });
  afterEach(async () => {
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds new items, replaces known ones, and applies nothing from a corrupt file', async () => {
    const first = await writeCatalog(dir, 'a', Array.from({ length: 50 }, (_, i) => [`i${i}`, unitVector(i, 32)]));
    expect(await loadCatalog(t.store, first, 32, 15)).toEqual({ added: 50, replaced: 0 });
    const second = await writeCatalog(dir, 'b', Array.from({ length: 20 }, (_, i) => [`i${i + 40}`, unitVector(1000 + i, 32)]));
    expect(await loadCatalog(t.store, second, 32, 15)).toEqual({ added: 10, replaced: 10 });
    const out = new Float32Array(32);
    await t.store.readRows([contentKey('i45')], 32, out);
    expect(Array.from(out)).toEqual(Array.from(unitVector(1005, 32)));

    const bytes = await readFile(second);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0x01;
    const corrupt = join(dir, 'corrupt.prvec');
    await writeFile(corrupt, bytes);
    await expect(loadCatalog(t.store, corrupt, 32)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/checksum mismatch.*nothing was applied/) });
    await expect(loadCatalog(t.store, first, 16)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/content vectors here are 16-d/) });
  });
});
