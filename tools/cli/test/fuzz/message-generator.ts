// Random request messages from the proto schema: every field type, repeated
// and nested fields, values at the edges (empty, huge, past 2^53, NaN,
// unknown enum numbers), and strings the services know, so many requests get
// past the first checks and reach deeper code.
import { type Rng } from '@pinrank/sim';
import { type FieldInfo, type MessageInfo, type ProtoSchema } from './proto-schema';
import { WIRE, doubleField, floatField, key, lengthDelimited, varint, varintField } from './wire';

/** Values the fuzzer mixes into generated messages: ids and names the stack really serves. */
export interface FuzzDictionary {
  strings: readonly string[];
  /** A fixed "now" for timestamps, so a seed always generates the same cases. */
  nowMs: number;
}

const EDGE_INTS: readonly bigint[] = [
  0n, 1n, -1n, 2n, 7n, 8n, 10n, 99n, 100n, 1000n, 1001n, 4096n, 4097n, 65_536n,
  2n ** 31n - 1n, -(2n ** 31n), 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n),
];
const EDGE_FLOATS: readonly number[] = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3.4e38, 1e-45, 1e300];
const SCALAR_VARINT = new Set(['TYPE_INT32', 'TYPE_INT64', 'TYPE_UINT32', 'TYPE_UINT64', 'TYPE_ENUM', 'TYPE_BOOL', 'TYPE_SINT32', 'TYPE_SINT64']);

/** Generates encoded random messages of any type in the schema. */
export class MessageGenerator {
  constructor(
    private readonly schema: ProtoSchema,
    private readonly rng: Rng,
    private readonly dict: FuzzDictionary,
  ) {}

  /**
   * One random message of `info`'s type, encoded, of at most about
   * `budget` bytes (most messages are small; one in 50 may reach 4 MB).
   */
  message(info: MessageInfo, depth = 0, budget = this.rng.chance(0.02) ? 4 * 2 ** 20 : 256 * 2 ** 10): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    const presence = depth > 3 ? 0.3 : 0.7;
    for (const field of info.fields) {
      if (size >= budget) break;
      if (!this.rng.chance(presence)) continue;
      const repeated = field.label === 'LABEL_REPEATED';
      // Long repeated fields only of scalars and strings near the top: nested ones multiply.
      const count = repeated ? Math.min(this.count(), field.type === 'TYPE_MESSAGE' || depth > 1 ? 8 : Infinity) : 1;
      if (repeated && count > 0 && SCALAR_VARINT.has(field.type) && this.rng.chance(0.5)) {
        // Packed form of a repeated scalar (what proto3 encoders write).
        const body = Buffer.from(Array.from({ length: count }, () => varint(this.int(field, info))).flat());
        parts.push(lengthDelimited(field.number, body));
        size += body.length;
        continue;
      }
      for (let k = 0; k < count && size < budget; k++) {
        const part = this.field(field, info, depth, budget - size);
        parts.push(part);
        size += part.length;
      }
    }
    return Buffer.concat(parts);
  }

  /** A random string: known values most often, else empty, odd, long or very long ones. */
  string(): string {
    const r = this.rng.next();
    const known = this.dict.strings[this.rng.int(this.dict.strings.length)] ?? '';
    if (r < 0.45) return known;
    if (r < 0.55) return '';
    if (r < 0.65) return `${known}${this.rng.int(1000)}`;
    if (r < 0.75) return String.fromCodePoint(...Array.from({ length: 1 + this.rng.int(12) }, () => this.codePoint()));
    if (r < 0.85) return 'x'.repeat(200 + this.rng.int(4000));
    if (r < 0.88) return 'é'.repeat(990 + this.rng.int(20));
    if (r < 0.9) return 'y'.repeat(100_000 + this.rng.int(100_000));
    return Array.from({ length: 1 + this.rng.int(24) }, () => String.fromCharCode(97 + this.rng.int(26))).join('');
  }

  private field(field: FieldInfo, info: MessageInfo, depth: number, budget: number): Buffer {
    switch (field.type) {
      case 'TYPE_STRING':
        return lengthDelimited(field.number, Buffer.from(this.string(), 'utf8'));
      case 'TYPE_BYTES':
        return lengthDelimited(field.number, this.bytes());
      case 'TYPE_FLOAT':
        return floatField(field.number, this.float());
      case 'TYPE_DOUBLE':
        return doubleField(field.number, this.float());
      case 'TYPE_MESSAGE':
        if (depth > 5) return Buffer.alloc(0);
        return lengthDelimited(field.number, this.message(this.schema.message(field.typeName), depth + 1, budget));
      default:
        return varintField(field.number, this.int(field, info));
    }
  }

  private count(): number {
    const r = this.rng.next();
    if (r < 0.3) return 0;
    if (r < 0.85) return 1 + this.rng.int(4);
    if (r < 0.97) return 5 + this.rng.int(60);
    return 500 + this.rng.int(2000);
  }

  private int(field: FieldInfo, info: MessageInfo): bigint {
    const values = info.enumValues.get(field.name);
    const r = this.rng.next();
    if (field.type === 'TYPE_BOOL') return BigInt(this.rng.int(3));
    if (values && r < 0.7) return BigInt(values[this.rng.int(values.length)] ?? 0);
    if (r < 0.5) return BigInt(this.rng.int(20));
    if (r < 0.65) return BigInt(this.dict.nowMs - this.rng.int(86_400_000));
    if (r < 0.95) return EDGE_INTS[this.rng.int(EDGE_INTS.length)]!;
    return BigInt.asIntN(64, (BigInt(this.rng.nextU32()) << 32n) | BigInt(this.rng.nextU32()));
  }

  private float(): number {
    return this.rng.chance(0.7) ? this.rng.normal() : EDGE_FLOATS[this.rng.int(EDGE_FLOATS.length)]!;
  }

  private bytes(): Buffer {
    const n = this.rng.chance(0.9) ? this.rng.int(64) : 1000 + this.rng.int(20_000);
    return Buffer.from(Array.from({ length: n }, () => this.rng.int(256)));
  }

  private codePoint(): number {
    const ranges: Array<[number, number]> = [
      [0, 32],
      [0x7f, 0xa0],
      [0x300, 0x370],
      [0x2028, 0x2030],
      [0xfff0, 0xfffe],
      [0x1f600, 0x1f650],
    ];
    const [lo, hi] = ranges[this.rng.int(ranges.length)]!;
    return lo + this.rng.int(hi - lo);
  }
}

/** An unknown field with a random wire type and payload (decoders must skip it). */
export function unknownField(rng: Rng): Buffer {
  const field = 1000 + rng.int(100_000);
  switch (rng.int(4)) {
    case 0:
      return varintField(field, BigInt(rng.nextU32()) << 20n);
    case 1:
      return lengthDelimited(field, Buffer.alloc(rng.int(300), 7));
    case 2:
      return Buffer.concat([Buffer.from(key(field, WIRE.fixed64)), Buffer.alloc(8, 1)]);
    default:
      return Buffer.concat([Buffer.from(key(field, WIRE.fixed32)), Buffer.alloc(4, 2)]);
  }
}
