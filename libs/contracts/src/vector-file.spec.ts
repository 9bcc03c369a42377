import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError } from './contract-error';
import { readVectorFile, readVectorFileHeader } from './vector-file-reader';
import { VectorFileWriter } from './vector-file-writer';
import type { VectorFileHeaderInput, VectorRecord } from './vector-file-format';

const dir = mkdtempSync(join(tmpdir(), 'vecfile-'));
const header: VectorFileHeaderInput = {
  kind: 'item_content',
  version: 'catalog-1',
  dimension: 4,
  count: 3,
  producerModel: 'catalog',
  producerModelVersion: 'sim-1',
  asOfDate: '2026-01-01',
  createdAtMs: 1_767_225_600_000,
  extraFields: ['primary_topic', 'popularity'],
};

async function writeSample(path: string): Promise<void> {
  const w = await VectorFileWriter.open(path, header);
  await w.write('i1', [0.5, -0.5, 0.25, 0], [3, 0.1]);
  await w.write('i2', new Float32Array([1, 2, 3, 4]), [7, 0.2]);
  await w.write('ítem-ü', [0, 0, 0, 1], [1, 0.3]);
  const res = await w.close();
  expect(res.count).toBe(3);
  expect(res.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
}

async function readAll(path: string): Promise<VectorRecord[]> {
  const out: VectorRecord[] = [];
  for await (const r of readVectorFile(path)) out.push(r);
  return out;
}

describe('vector files', () => {
  const path = join(dir, 'sample.vec');
  beforeAll(() => writeSample(path));

  it('round-trips header, ids, vectors and extra fields', async () => {
    expect(await readVectorFileHeader(path)).toMatchObject({ ...header, format: 1, dtype: 'float32', baseVersion: null });
    const recs = await readAll(path);
    expect(recs.map((r) => r.id)).toEqual(['i1', 'i2', 'ítem-ü']);
    expect(Array.from(recs[1]!.vector)).toEqual([1, 2, 3, 4]);
    expect(Array.from(recs[0]!.extra)).toEqual([3, Math.fround(0.1)]);
  });

  it('refuses a file whose bytes were altered (checksum)', async () => {
    const bytes = readFileSync(path);
    const at = bytes.length - 60;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    const bad = join(dir, 'flipped.vec');
    writeFileSync(bad, bytes);
    await expect(readAll(bad)).rejects.toThrow(/checksum mismatch/);
  });

  it('refuses a truncated file', async () => {
    const bytes = readFileSync(path);
    const bad = join(dir, 'truncated.vec');
    writeFileSync(bad, bytes.subarray(0, bytes.length - 50));
    await expect(readAll(bad)).rejects.toThrow(ContractError);
    writeFileSync(bad, bytes.subarray(0, bytes.length - 10));
    await expect(readAll(bad)).rejects.toThrow(/trailer missing/);
  });

  it('refuses a file that is not a vector file', async () => {
    const bad = join(dir, 'junk.vec');
    writeFileSync(bad, 'hello world, not vectors');
    await expect(readAll(bad)).rejects.toThrow(/bad magic bytes/);
  });

  it('refuses NaN values and wrong lengths at write time, and leaves no file behind', async () => {
    const p = join(dir, 'nan.vec');
    const w = await VectorFileWriter.open(p, header);
    await expect(w.write('x', [NaN, 0, 0, 0], [0, 0])).rejects.toThrow(/value 0 is NaN/);
    await expect(w.write('x', [0, 0, 0], [0, 0])).rejects.toThrow(/vector has 3 values, header.dimension is 4/);
    await expect(w.close()).rejects.toThrow(/only 0 of header.count 3/);
    expect(existsSync(p)).toBe(false);
    expect(existsSync(`${p}.partial`)).toBe(false);
  });

  it('refuses an invalid header, naming the field', async () => {
    await expect(VectorFileWriter.open(join(dir, 'h.vec'), { ...header, asOfDate: '1 Jan' })).rejects.toThrow(
      /asOfDate: must be a date YYYY-MM-DD/,
    );
    await expect(VectorFileWriter.open(join(dir, 'h.vec'), { ...header, dimension: 0 })).rejects.toThrow(/dimension: must be an integer >= 1/);
  });
});
