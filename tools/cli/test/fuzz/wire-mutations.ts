// Byte-level damage to an encoded message: what a broken or hostile client
// puts on the wire. Each mutation names itself for the report.
import { type Rng } from '@pinrank/sim';
import { unknownField } from './message-generator';
import { WIRE, key, lengthDelimited, varint } from './wire';

/** One way of damaging a message. */
export interface WireMutation {
  name: string;
  apply(bytes: Buffer, rng: Rng): Buffer;
}

/** Every mutation the fuzzer applies. */
export const WIRE_MUTATIONS: readonly WireMutation[] = [
  {
    name: 'bit flips',
    apply: (b, rng) => {
      const out = Buffer.from(b.length > 0 ? b : Buffer.from([0]));
      for (let k = 0; k < 1 + rng.int(8); k++) {
        const at = rng.int(out.length);
        out[at] = out[at]! ^ (1 << rng.int(8));
      }
      return out;
    },
  },
  { name: 'truncated', apply: (b, rng) => b.subarray(0, b.length > 1 ? 1 + rng.int(b.length - 1) : 0) },
  { name: 'unknown fields', apply: (b, rng) => Buffer.concat([unknownField(rng), b, unknownField(rng), unknownField(rng)]) },
  {
    name: 'wrong wire type',
    // Field 1..8 written with every wire type but its own: decoders read or skip by the wire type.
    apply: (b, rng) => Buffer.concat([b, Buffer.from([...key(1 + rng.int(8), [1, 3, 5, 6, 7][rng.int(5)]!), ...varint(rng.int(1000))])]),
  },
  { name: 'overlong varint', apply: (b, rng) => Buffer.concat([b, Buffer.from([...key(1 + rng.int(8), WIRE.varint), ...new Array<number>(11).fill(0xff), 0x01])]) },
  {
    name: 'length past the end',
    apply: (b, rng) => Buffer.concat([b, Buffer.from([...key(1 + rng.int(8), WIRE.bytes), ...varint(2n ** 32n + BigInt(rng.int(1000)))]), Buffer.alloc(8)]),
  },
  {
    name: 'deep nesting',
    apply: (b, rng) => {
      // Unknown field 20 as a group nested thousands of levels deep.
      const depth = 2000 + rng.int(20_000);
      const open = Buffer.from(key(20, WIRE.startGroup));
      const close = Buffer.from(key(20, WIRE.endGroup));
      return Buffer.concat([b, ...new Array<Buffer>(depth).fill(open), ...new Array<Buffer>(depth).fill(close)]);
    },
  },
  {
    name: 'nested length-delimited',
    apply: (b, rng) => {
      let inner: Buffer = Buffer.from([0x08, 0x01]);
      for (let k = 0; k < 200 + rng.int(800); k++) inner = lengthDelimited(1 + rng.int(8), inner);
      return Buffer.concat([b, inner]);
    },
  },
  { name: 'int64 past 2^63', apply: (b, rng) => Buffer.concat([b, Buffer.from([...key(1 + rng.int(8), WIRE.varint), ...varint(2n ** 64n - 1n - BigInt(rng.int(100)))])]) },
  { name: 'random bytes', apply: (_b, rng) => Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256))) },
  { name: 'empty', apply: () => Buffer.alloc(0) },
];
