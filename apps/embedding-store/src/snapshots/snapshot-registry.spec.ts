import { type VectorFileHeader } from '@pinrank/contracts';
import { towerKey, userKey } from '../store/keys';
import { TEST_BACKENDS, type TestStore } from '../testing/backends';
import { snapshotRecord } from '../testing/fixtures';
import { recordMetaName } from './snapshot-record';
import { SnapshotRegistry } from './snapshot-registry';

const LMDB = TEST_BACKENDS.find((b) => b.name === 'lmdb')!;

function header(version: string, baseVersion: string | null = null, overrides: Partial<VectorFileHeader> = {}): VectorFileHeader {
  return {
    format: 1,
    kind: 'user',
    version,
    dimension: 64,
    dtype: 'float32',
    count: 1,
    producerModel: 'pinnerformer',
    producerModelVersion: 'pf-1',
    asOfDate: '2026-11-27',
    baseVersion,
    createdAtMs: 0,
    extraFields: [],
    ...overrides,
  };
}

describe('SnapshotRegistry', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await LMDB.make();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('keeps the newest READY versions and the active one, and forgets FAILED records past the count', async () => {
    const registry = new SnapshotRegistry({ store: t.store, retain: 2 });
    for (const [v, seq, status] of [['v1', 1, 'ready'], ['v2', 2, 'ready'], ['f3', 3, 'failed'], ['v4', 4, 'ready'], ['f5', 5, 'failed'], ['v6', 6, 'ready'], ['f7', 7, 'failed']] as const) {
      await registry.add(snapshotRecord(v, seq, { status }));
    }
    await registry.setActive('v1');
    // retain 2: v6 and v4 by age, v1 because it is active; v2 goes. Failed: f7 and f5 stay, f3 goes.
    expect(registry.retention()).toEqual({ evict: ['v2'], forget: ['f3'] });
    await registry.setActive('v6');
    expect(registry.retention()).toEqual({ evict: ['v2', 'v1'], forget: ['f3'] });
    expect(registry.nextSeq()).toBe(8);
    expect(registry.withData().sort()).toEqual(['v1', 'v2', 'v4', 'v6']);
  });

  it('answers a read or an activation with the status a client can act on', async () => {
    const registry = new SnapshotRegistry({ store: t.store, retain: 3 });
    expect(() => registry.readable()).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/no snapshot is active yet/) }));
    await registry.add(snapshotRecord('v1', 1));
    await registry.add(snapshotRecord('v2', 2, { status: 'loading', progress: 0.42 }));
    await registry.add(snapshotRecord('v3', 3, { status: 'failed', error: 'checksum mismatch' }));
    await registry.setActive('v1');
    expect(registry.readable().version).toBe('v1');
    expect(registry.readable('v1')).toBe(registry.get('v1'));
    expect(() => registry.readable('v2')).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', message: 'snapshot version v2 is still loading (42%)' }));
    expect(() => registry.readable('v3')).toThrow(expect.objectContaining({ message: 'snapshot version v3 failed to load: checksum mismatch' }));
    expect(() => registry.readable('v9')).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: 'snapshot version v9 is not retained; retained: v3 (failed), v2 (loading), v1 (ready)' }));
    expect(() => registry.activatable('v3')).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/is failed \(checksum mismatch\); only a fully loaded/) }));
    expect(registry.activatable('v1').version).toBe('v1');
  });

  it('checks a new version against what is retained', async () => {
    const registry = new SnapshotRegistry({ store: t.store, retain: 3 });
    await registry.add(snapshotRecord('v1', 1));
    await registry.add(snapshotRecord('v2', 2, { status: 'failed' }));
    await registry.add(snapshotRecord('v3', 3, { status: 'loading' }));
    expect(registry.checkNewVersion(header('v4'))).toEqual({ base: null, replacesFailed: false });
    expect(registry.checkNewVersion(header('v2'))).toEqual({ base: null, replacesFailed: true });
    expect(registry.checkNewVersion(header('v4', 'v1')).base?.version).toBe('v1');
    expect(() => registry.checkNewVersion(header('v1'))).toThrow(expect.objectContaining({ code: 'ALREADY_EXISTS' }));
    expect(() => registry.checkNewVersion(header('v4', 'v3'))).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/base version v3, which is loading/) }));
    expect(() => registry.checkNewVersion(header('v4', 'gone'))).toThrow(expect.objectContaining({ message: expect.stringMatching(/which is not retained/) }));
    expect(() => registry.checkNewVersion(header('v4', 'v1', { dimension: 32 }))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('restores records and the active pointer from the store; a load cut by a restart becomes FAILED and its data goes', async () => {
    const before = new SnapshotRegistry({ store: t.store, retain: 3 });
    await before.add(snapshotRecord('v1', 1));
    await before.add(snapshotRecord('v2', 2, { status: 'loading', progress: 0.3 }));
    await before.setActive('v1');
    await t.store.writeVectors([[userKey('v2', 'u1'), new Float32Array(64)], [towerKey('v1', 'i1'), new Float32Array(64)]]);

    const after = new SnapshotRegistry({ store: t.store, retain: 3 });
    expect(await after.restore(true, () => false)).toEqual([]);
    expect(after.active).toBe('v1');
    expect(after.get('v2')).toMatchObject({ status: 'failed', error: 'loading was interrupted by a restart; load it again' });
    expect(JSON.parse((await t.store.getMeta(recordMetaName('v2')))!)).toMatchObject({ status: 'failed' });
    const out = new Float32Array(2 * 64);
    expect(await t.store.readRows([userKey('v2', 'u1'), towerKey('v1', 'i1')], 64, out)).toEqual([false, true]);

    // Another replica drops v1 and activates nothing; a refresh follows, leaving this replica's own load alone.
    await before.drop('v1');
    await after.add(snapshotRecord('v5', 5, { status: 'loading' }));
    await t.store.deleteMeta(recordMetaName('v5'));
    expect(await after.restore(false, (v) => v === 'v5')).toEqual(['v1']);
    expect(after.active).toBeNull();
    expect(after.list().map((r) => r.version)).toEqual(['v5', 'v2']);
  });
});
