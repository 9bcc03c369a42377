import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { towerKey, userKey } from '../store/keys';
import { type VectorStore } from '../store/vector-store';
import { TEST_BACKENDS, type TestStore } from '../testing/backends';
import { markedVectors, writeSnapshot } from '../testing/fixtures';
import { SnapshotManager } from './snapshot-manager';

const D = 64;
// One build thread, as in the other ANN specs: a graph built in parallel differs from run to run, and
// about one self-search in 200 then misses (top hit not the query's own item); built on one thread it is the same every time.
const ANN = { threads: 1 };

async function read(store: VectorStore, key: string): Promise<Float32Array | undefined> {
  const out = new Float32Array(D);
  const [found] = await store.readRows([key], D, out);
  return found ? out : undefined;
}

describe.each(TEST_BACKENDS)('SnapshotManager on $name', ({ make }) => {
  let t: TestStore;
  let dir: string;
  let manager: SnapshotManager;
  beforeEach(async () => {
    t = await make(50);
    dir = await mkdtemp(join(tmpdir(), 'es-snap-'));
    manager = await SnapshotManager.open({ store: t.store, retain: 2, batchSize: 40, ann: ANN });
  });
  afterEach(async () => {
    await manager.close();
    await t.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(version: string, marker: number, options: { base?: string; users?: number; items?: number; activate?: boolean } = {}): Promise<void> {
    const files = await writeSnapshot(dir, {
      version,
      users: markedVectors('u', options.users ?? 120, D, marker),
      items: markedVectors('i', options.items ?? 150, D, marker, 1000),
      baseVersion: options.base ?? null,
    });
    await manager.startLoad(files.userFile, files.itemFile, options.activate ?? true);
    const record = await manager.whenLoaded(version);
    expect(record?.error).toBe('');
  }

  it('loads in the background, validates and activates', async () => {
    const files = await writeSnapshot(dir, { version: 'v1', users: markedVectors('u', 120, D, 1), items: markedVectors('i', 150, D, 1) });
    const started = await manager.startLoad(files.userFile, files.itemFile, true);
    expect(started.status).toBe('loading');
    expect(manager.list().records[0]?.status).toBe('loading');
    const record = await manager.whenLoaded('v1');
    expect(record).toMatchObject({ status: 'ready', progress: 1, userCount: 120, itemCount: 150, dimension: D, producerModelVersion: 'pf-1' });
    expect(manager.list().active).toBe('v1');
    const lease = manager.acquire();
    expect(lease.record.version).toBe('v1');
    lease.release();
    expect((await read(t.store, userKey('v1', 'u7')))?.[0]).toBe(1);
    const hits = (await manager.index('v1')).search((await read(t.store, towerKey('v1', 'i3')))!, 1);
    expect(hits[0]?.id).toBe('i3');
  });

  it('refuses a corrupt file and keeps the active snapshot', async () => {
    await load('v1', 1);
    const files = await writeSnapshot(dir, { version: 'v2', users: markedVectors('u', 120, D, 2), items: markedVectors('i', 150, D, 2) });
    const bytes = await readFile(files.itemFile);
    bytes[bytes.length - 500] = (bytes[bytes.length - 500] as number) ^ 0xff; // one flipped bit-pattern inside the records
    await writeFile(files.itemFile, bytes);
    await manager.startLoad(files.userFile, files.itemFile, true);
    const record = await manager.whenLoaded('v2');
    expect(record?.status).toBe('failed');
    expect(record?.error).toMatch(/checksum mismatch|value \d+ is/);
    expect(manager.list().active).toBe('v1');
    expect(await read(t.store, userKey('v2', 'u1'))).toBeUndefined(); // the staged user vectors were removed
    expect(() => manager.acquire('v2')).toThrow(/failed to load/);
    expect(() => manager.acquire('v2')).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
  });

  it('refuses a truncated file and headers that do not match', async () => {
    await load('v1', 1);
    const files = await writeSnapshot(dir, { version: 'v2', users: markedVectors('u', 120, D, 2), items: markedVectors('i', 150, D, 2) });
    await truncate(files.userFile, (await stat(files.userFile)).size - 100);
    await manager.startLoad(files.userFile, files.itemFile, true);
    expect((await manager.whenLoaded('v2'))?.error).toMatch(/truncated|checksum/);
    expect(manager.list().active).toBe('v1');

    const other = await writeSnapshot(dir, { version: 'v3', users: markedVectors('u', 5, D, 3), items: markedVectors('i', 5, D, 3) });
    await expect(manager.startLoad(other.userFile, files.itemFile, true)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/disagree on version/) });
    await expect(manager.startLoad(other.itemFile, other.userFile, true)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/kind is "item_tower"/) });
    await expect(manager.startLoad(join(dir, 'nope'), other.itemFile, true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const small = await writeSnapshot(dir, { version: 'v4', users: markedVectors('u', 5, 8, 3), items: markedVectors('i', 5, 8, 3) });
    await expect(manager.startLoad(small.userFile, small.itemFile, true)).rejects.toMatchObject({ message: expect.stringMatching(/dimension 8; this store serves dimension 64/) });
    const again = await writeSnapshot(dir, { version: 'v1', users: markedVectors('u', 5, D, 9), items: markedVectors('i', 5, D, 9) });
    await expect(manager.startLoad(again.userFile, again.itemFile, true)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('merges an incremental snapshot over its base', async () => {
    await load('v1', 1, { users: 100, items: 100 });
    // v2 carries u0..u29 (new vectors for existing users) and u100..u109 (new users) only.
    const users = [...markedVectors('u', 30, D, 2), ...markedVectors('u', 110, D, 2).slice(100)];
    const files = await writeSnapshot(dir, { version: 'v2', users, items: markedVectors('i', 5, D, 2), baseVersion: 'v1' });
    await manager.startLoad(files.userFile, files.itemFile, true);
    const record = await manager.whenLoaded('v2');
    expect(record).toMatchObject({ status: 'ready', userCount: 110, itemCount: 100, baseVersion: 'v1' });
    expect((await read(t.store, userKey('v2', 'u5')))?.[0]).toBe(2);
    expect((await read(t.store, userKey('v2', 'u50')))?.[0]).toBe(1);
    expect((await read(t.store, userKey('v2', 'u105')))?.[0]).toBe(2);
    expect((await read(t.store, userKey('v1', 'u5')))?.[0]).toBe(1); // the base is untouched
    const orphan = await writeSnapshot(dir, { version: 'v3', users: users.slice(0, 2), items: markedVectors('i', 2, D, 3), baseVersion: 'gone' });
    await expect(manager.startLoad(orphan.userFile, orphan.itemFile, true)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/base version gone/) });
  });

  it('rolls back, keeps the last N versions readable and waits for readers before removing one', async () => {
    await load('v1', 1, { users: 20, items: 20 });
    await load('v2', 2, { users: 20, items: 20 });
    expect(await manager.activate('v1')).toEqual({ active: 'v1', previous: 'v2' });
    const lease = manager.acquire('v2');
    await load('v3', 3, { users: 20, items: 20, activate: false });
    // retain=2 keeps v3 and v2 plus the active v1; v4 pushes v2 out once its reader is done.
    await load('v4', 4, { users: 20, items: 20, activate: false });
    expect(manager.list().records.map((r) => r.version)).toEqual(['v4', 'v3', 'v1']);
    expect(await read(t.store, userKey('v2', 'u1'))).toBeDefined(); // still leased
    lease.release();
    await manager.settled();
    expect(await read(t.store, userKey('v2', 'u1'))).toBeUndefined();
    expect(() => manager.acquire('v2')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    await expect(manager.activate('v2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deletes a user from every retained version', async () => {
    await load('v1', 1, { users: 20, items: 5 });
    await load('v2', 2, { users: 20, items: 5 });
    expect(await manager.deleteUser('u3')).toBe(2);
    expect(await read(t.store, userKey('v1', 'u3'))).toBeUndefined();
    expect(await read(t.store, userKey('v2', 'u3'))).toBeUndefined();
    expect(await read(t.store, userKey('v2', 'u4'))).toBeDefined();
    expect(await manager.deleteUser('u3')).toBe(0);
  });

  it('restores the active version after a restart and shares it with other replicas', async () => {
    await load('v1', 1, { users: 10, items: 10 });
    await load('v2', 2, { users: 10, items: 10 });
    const replica = await SnapshotManager.open({ store: t.reopen(), retain: 2, ann: ANN });
    expect(replica.list().active).toBe('v2');
    await manager.activate('v1');
    await replica.refresh();
    expect(replica.list().active).toBe('v1');
    const hits = (await replica.index('v1')).search((await read(t.store, towerKey('v1', 'i2')))!, 1);
    expect(hits[0]?.id).toBe('i2');
    await replica.close();
  });

  it('keeps each ANN graph on disk: a restart reopens it instead of rebuilding, eviction deletes it', async () => {
    const indexDir = join(dir, 'ann');
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const said = (msg: string): number => lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;
    await manager.close();
    manager = await SnapshotManager.open({ store: t.store, retain: 1, batchSize: 40, indexDir, logger, ann: ANN });
    await load('v1', 1, { users: 10, items: 30 });
    expect(said('ANN index built')).toBe(1);
    const files = async (version: string): Promise<string[]> => (await readdir(indexDir)).filter((f) => f.startsWith(`${version}-`)).sort();
    expect((await files('v1')).map((f) => f.slice(f.lastIndexOf('.')))).toEqual(['.ids', '.json', '.usearch']);

    const restarted = await SnapshotManager.open({ store: t.reopen(), retain: 1, indexDir, logger, ann: ANN });
    const probe = (await read(t.store, towerKey('v1', 'i4')))!;
    expect((await restarted.index('v1')).search(probe, 1)[0]?.id).toBe('i4');
    expect(said('ANN index opened from disk')).toBe(1);
    expect(said('ANN index built')).toBe(1);
    await restarted.close();

    // Retention pushes v1 out once v2 is active: its graph goes with it.
    await load('v2', 2, { users: 10, items: 30 });
    await manager.settled();
    expect(await files('v1')).toEqual([]);
    expect(await files('v2')).toHaveLength(3);
  });
});
