import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActionStore } from './action-store';
import { CONTRACT_RETENTION, describeActionStoreContract } from './action-store.contract';
import { LmdbActionStore } from './lmdb-action-store';

const dirs: string[] = [];
const paths = new WeakMap<ActionStore, string>();

function openAt(path: string): ActionStore {
  const s = LmdbActionStore.open({ path, retention: CONTRACT_RETENTION });
  paths.set(s, path);
  return s;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeActionStoreContract(
  'LmdbActionStore',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-lmdb-'));
    dirs.push(dir);
    return openAt(dir);
  },
  async (previous) => {
    const path = paths.get(previous) as string;
    await previous.close();
    return openAt(path);
  },
);

describe('LmdbActionStore options', () => {
  it('rejects invalid retention up front', () => {
    expect(() => LmdbActionStore.open({ path: '/tmp/x', retention: { ...CONTRACT_RETENTION, maxSequenceActions: 0 } })).toThrow(
      /retention.maxSequenceActions/,
    );
    expect(() => LmdbActionStore.open({ path: '', retention: CONTRACT_RETENTION })).toThrow(/lmdb.path/);
  });
});
