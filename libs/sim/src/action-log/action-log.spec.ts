import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError } from '@pinrank/contracts';
import { UserAction } from '@pinrank/proto';
import { userActionFields, type ActionLogHeader, type ActionLogRecord } from './format';
import { readActionBatches, readActionLog, readActionLogHeader } from './reader';
import { ActionLogWriter } from './writer';

const header: ActionLogHeader = {
  format: 1,
  producer: 'test',
  seed: 5,
  users: 1000,
  items: 100_000,
  startMs: Date.UTC(2026, 0, 1),
  endMs: Date.UTC(2026, 3, 1),
  actionIdPrefix: 'a5-',
  params: { note: 'round trip' },
};

function records(n: number): ActionLogRecord[] {
  const out: ActionLogRecord[] = [];
  let ts = header.startMs;
  for (let k = 0; k < n; k++) {
    // Gaps from 0 ms to ~60 days exercise every varint length.
    ts += k % 97 === 0 ? 5_000_000_000 % (k + 1) : (k * 7919) % 100_000;
    out.push({
      userIndex: (k * 31) % header.users,
      itemIndex: (k * 7_777) % header.items,
      actionType: 1 + (k % 5),
      surface: k % 5,
      timestampMs: ts,
      durationMs: k % 3 === 0 ? 0 : (k * 104_729) % 4_000_000_000,
    });
  }
  return out;
}

async function collect(path: string): Promise<ActionLogRecord[]> {
  const out: ActionLogRecord[] = [];
  for await (const r of readActionLog(path)) {
    out.push({ userIndex: r.userIndex, itemIndex: r.itemIndex, actionType: r.actionType, surface: r.surface, timestampMs: r.timestampMs, durationMs: r.durationMs });
  }
  return out;
}

describe('action log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinrank-sim-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([false, true])('round-trips header and records (gzip %s)', async (gzip) => {
    const path = join(dir, gzip ? 'a.prlog.gz' : 'a.prlog');
    const recs = records(10_000);
    const w = await ActionLogWriter.open(path, header, { gzip, blockRecords: 777 });
    for (const r of recs) await w.write(r);
    const { count, checksum } = await w.close();
    expect(count).toBe(10_000);
    expect(checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readActionLogHeader(path)).toEqual(header);
    expect(await collect(path)).toEqual(recs);
    const first = (await readActionLog(path).next()).value;
    expect(first).toMatchObject({ actionId: 'a5-0', userId: 'u0', itemId: 'i0', actionType: 1 });
    // Records carry exactly what the proto UserAction needs (what feature-server ingests).
    const proto = UserAction.decode(UserAction.encode(UserAction.fromPartial(userActionFields(first!))).finish());
    expect(proto).toEqual(userActionFields(first!));
    let seen = 0;
    for await (const b of readActionBatches(path)) {
      expect(b.firstIndex).toBe(seen);
      seen += b.length;
    }
    expect(seen).toBe(10_000);
  });

  it('writes columns in a given order', async () => {
    const path = join(dir, 'c.prlog');
    const recs = records(50);
    const cols = {
      timestampMs: recs.map((r) => r.timestampMs).reverse(),
      userIndex: recs.map((r) => r.userIndex).reverse(),
      itemIndex: recs.map((r) => r.itemIndex).reverse(),
      actionType: recs.map((r) => r.actionType).reverse(),
      surface: recs.map((r) => r.surface).reverse(),
      durationMs: recs.map((r) => r.durationMs).reverse(),
    };
    const w = await ActionLogWriter.open(path, header);
    await w.writeColumns(cols, Array.from({ length: 50 }, (_, k) => 49 - k));
    await w.close();
    expect(await collect(path)).toEqual(recs);
  });

  it('rejects out-of-order and out-of-range records when writing', async () => {
    const w = await ActionLogWriter.open(join(dir, 'bad.prlog'), header);
    const ok: ActionLogRecord = { userIndex: 1, itemIndex: 1, actionType: 3, surface: 1, timestampMs: header.startMs + 10, durationMs: 5 };
    await w.write(ok);
    await expect(w.write({ ...ok, timestampMs: header.startMs })).rejects.toThrow(/go back in time/);
    await expect(w.write({ ...ok, userIndex: 1000 })).rejects.toThrow(/userIndex/);
    await expect(w.write({ ...ok, actionType: 0 })).rejects.toThrow(/actionType/);
    await expect(w.write({ ...ok, surface: 9 })).rejects.toThrow(/surface/);
    await w.abort();
    await expect(ActionLogWriter.open(join(dir, 'h.prlog'), { ...header, format: 2 as 1 })).rejects.toThrow(ContractError);
  });

  it('detects a flipped byte, a truncated file and a foreign file', async () => {
    const path = join(dir, 'x.prlog');
    const w = await ActionLogWriter.open(path, header, { blockRecords: 100 });
    for (const r of records(1000)) await w.write(r);
    await w.close();
    const bytes = await readFile(path);

    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 100] = (flipped[bytes.length - 100] as number) ^ 0x01;
    await writeFile(join(dir, 'flipped.prlog'), flipped);
    await expect(collect(join(dir, 'flipped.prlog'))).rejects.toThrow(ContractError);

    await writeFile(join(dir, 'short.prlog'), bytes.subarray(0, bytes.length - 500));
    await expect(collect(join(dir, 'short.prlog'))).rejects.toThrow(/truncated/);

    const gz = join(dir, 'x.prlog.gz');
    const wz = await ActionLogWriter.open(gz, header, { gzip: true });
    for (const r of records(1000)) await wz.write(r);
    await wz.close();
    const gzBytes = await readFile(gz);
    await writeFile(join(dir, 'short.prlog.gz'), gzBytes.subarray(0, gzBytes.length - 50));
    await expect(collect(join(dir, 'short.prlog.gz'))).rejects.toThrow(ContractError);

    await writeFile(join(dir, 'foreign.prlog'), Buffer.from('hello world, not a log'));
    await expect(collect(join(dir, 'foreign.prlog'))).rejects.toThrow(/magic/);
  });

  it('stops reading when the signal aborts', async () => {
    const path = join(dir, 's.prlog');
    const w = await ActionLogWriter.open(path, header, { blockRecords: 10 });
    for (const r of records(100)) await w.write(r);
    await w.close();
    const ac = new AbortController();
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of readActionLog(path, { signal: ac.signal })) if (++n === 15) ac.abort(new Error('enough'));
      })(),
    ).rejects.toThrow('enough');
    expect(n).toBe(20);
  });
});
