// A minimal protobuf wire writer: enough to write any message, including
// values the generated encoders refuse (int64 past 2^53, wrong wire types).

/** Protobuf wire types. */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

/** The varint encoding of a value taken modulo 2^64 (negative values as two's complement, as protobuf does). */
export function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

/** A field key (tag). */
export function key(field: number, wire: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wire));
}

/** A length-delimited field. */
export function lengthDelimited(field: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...key(field, WIRE.bytes), ...varint(body.length)]), body]);
}

/** A varint field. */
export function varintField(field: number, value: bigint | number): Buffer {
  return Buffer.from([...key(field, WIRE.varint), ...varint(value)]);
}

/** A fixed32 field holding a float. */
export function floatField(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return Buffer.concat([Buffer.from(key(field, WIRE.fixed32)), b]);
}

/** A fixed64 field holding a double. */
export function doubleField(field: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return Buffer.concat([Buffer.from(key(field, WIRE.fixed64)), b]);
}
