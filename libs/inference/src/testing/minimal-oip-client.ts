// A deliberately minimal Open Inference Protocol client for tests: it knows
// only the published protocol (method paths and field numbers of
// inference/grpc_service.proto) and encodes protobuf by hand, so it shares no
// code with the server's generated stubs.
import * as grpc from '@grpc/grpc-js';

type Field = { no: number; wire: 0 | 1 | 2 | 5; value: bigint | Buffer };

function varint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** Protobuf message writer for the handful of field kinds the protocol uses. */
export class Writer {
  private readonly parts: Buffer[] = [];
  private tag(no: number, wire: number): void {
    this.parts.push(varint(BigInt((no << 3) | wire)));
  }
  string(no: number, s: string): this {
    return this.bytes(no, Buffer.from(s, 'utf8'));
  }
  bytes(no: number, b: Buffer): this {
    this.tag(no, 2);
    this.parts.push(varint(BigInt(b.length)), b);
    return this;
  }
  message(no: number, w: Writer): this {
    return this.bytes(no, w.finish());
  }
  bool(no: number, v: boolean): this {
    this.tag(no, 0);
    this.parts.push(varint(v ? 1n : 0n));
    return this;
  }
  packedInt64(no: number, values: readonly number[]): this {
    return this.bytes(no, Buffer.concat(values.map((v) => varint(BigInt(v)))));
  }
  packedFloat(no: number, values: readonly number[]): this {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return this.bytes(no, b);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Splits a protobuf message into its fields (wire types 0, 1, 2, 5). */
export function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(readVarint());
    const no = key >> 3;
    const wire = (key & 7) as Field['wire'];
    if (wire === 0) fields.push({ no, wire, value: readVarint() });
    else if (wire === 2) {
      const len = Number(readVarint());
      fields.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      fields.push({ no, wire, value: buf.subarray(at, at + len) });
      at += len;
    } else throw new Error(`wire type ${wire} not expected`);
  }
  return fields;
}

const str = (fields: Field[], no: number): string => (fields.find((f) => f.no === no)?.value as Buffer | undefined)?.toString('utf8') ?? '';
const all = (fields: Field[], no: number): Field[] => fields.filter((f) => f.no === no);
const bool = (fields: Field[], no: number): boolean => fields.find((f) => f.no === no)?.value === 1n;

function int64s(fields: Field[], no: number): number[] {
  const out: number[] = [];
  for (const f of all(fields, no)) {
    if (f.wire === 0) out.push(Number(BigInt.asIntN(64, f.value as bigint)));
    else for (const p of readPackedVarints(f.value as Buffer)) out.push(Number(BigInt.asIntN(64, p)));
  }
  return out;
}

function readPackedVarints(b: Buffer): bigint[] {
  const out: bigint[] = [];
  let at = 0;
  while (at < b.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7n;
    }
    out.push(result);
  }
  return out;
}

/** A decoded output tensor. */
export interface WireOutput {
  name: string;
  datatype: string;
  shape: number[];
  fp32: number[];
}

/** A decoded ModelInferResponse. */
export interface WireInferResponse {
  modelName: string;
  modelVersion: string;
  id: string;
  outputs: WireOutput[];
  raw: Buffer[];
}

/** An input for {@link MinimalOipClient.infer}: FP32 or INT64, sent raw or typed. */
export interface WireInput {
  name: string;
  datatype: 'FP32' | 'INT64';
  shape: number[];
  values: number[];
}

const SERVICE = '/inference.GRPCInferenceService/';

/** A generic gRPC client speaking the Open Inference Protocol by path and field number. */
export class MinimalOipClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  /** Calls one unary method with an already-encoded request; rejects with the grpc-js error. */
  call(method: string, request: Buffer, metadata = new grpc.Metadata(), deadlineMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        SERVICE + method,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err ? reject(err) : resolve(res!)),
      );
    });
  }

  async serverLive(): Promise<boolean> {
    return bool(readFields(await this.call('ServerLive', Buffer.alloc(0))), 1);
  }

  async serverReady(): Promise<boolean> {
    return bool(readFields(await this.call('ServerReady', Buffer.alloc(0))), 1);
  }

  async modelReady(name: string, version = ''): Promise<boolean> {
    return bool(readFields(await this.call('ModelReady', new Writer().string(1, name).string(2, version).finish())), 1);
  }

  async modelMetadata(name: string): Promise<{ name: string; versions: string[]; platform: string; inputs: Array<{ name: string; datatype: string; shape: number[] }> }> {
    const f = readFields(await this.call('ModelMetadata', new Writer().string(1, name).finish()));
    return {
      name: str(f, 1),
      versions: all(f, 2).map((v) => (v.value as Buffer).toString('utf8')),
      platform: str(f, 3),
      inputs: all(f, 4).map((t) => {
        const tf = readFields(t.value as Buffer);
        return { name: str(tf, 1), datatype: str(tf, 2), shape: int64s(tf, 3) };
      }),
    };
  }

  async infer(model: string, inputs: readonly WireInput[], options: { raw: boolean; id?: string; metadata?: grpc.Metadata; deadlineMs?: number }): Promise<WireInferResponse> {
    const w = new Writer().string(1, model).string(3, options.id ?? '');
    for (const input of inputs) {
      const t = new Writer().string(1, input.name).string(2, input.datatype).packedInt64(3, input.shape);
      if (!options.raw) {
        const contents = input.datatype === 'FP32' ? new Writer().packedFloat(6, input.values) : new Writer().packedInt64(3, input.values);
        t.message(5, contents);
      }
      w.message(5, t);
    }
    if (options.raw) {
      for (const input of inputs) {
        const b = Buffer.alloc(input.values.length * (input.datatype === 'FP32' ? 4 : 8));
        input.values.forEach((v, i) => (input.datatype === 'FP32' ? b.writeFloatLE(v, i * 4) : b.writeBigInt64LE(BigInt(v), i * 8)));
        w.bytes(7, b);
      }
    }
    const f = readFields(await this.call('ModelInfer', w.finish(), options.metadata, options.deadlineMs));
    return {
      modelName: str(f, 1),
      modelVersion: str(f, 2),
      id: str(f, 3),
      outputs: all(f, 5).map((o) => {
        const of = readFields(o.value as Buffer);
        const contents = of.find((x) => x.no === 5);
        const fp32: number[] = [];
        if (contents) {
          for (const c of all(readFields(contents.value as Buffer), 6)) {
            const b = c.value as Buffer;
            if (c.wire === 5) fp32.push(b.readFloatLE(0));
            else for (let i = 0; i < b.length; i += 4) fp32.push(b.readFloatLE(i));
          }
        }
        return { name: str(of, 1), datatype: str(of, 2), shape: int64s(of, 3), fp32 };
      }),
      raw: all(f, 6).map((r) => r.value as Buffer),
    };
  }

  async repositoryIndex(): Promise<Array<{ name: string; version: string; state: string; reason: string }>> {
    const f = readFields(await this.call('RepositoryIndex', Buffer.alloc(0)));
    return all(f, 1).map((m) => {
      const mf = readFields(m.value as Buffer);
      return { name: str(mf, 1), version: str(mf, 2), state: str(mf, 3), reason: str(mf, 4) };
    });
  }

  async repositoryModelLoad(model: string, token?: string): Promise<void> {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    await this.call('RepositoryModelLoad', new Writer().string(2, model).finish(), md);
  }
}
