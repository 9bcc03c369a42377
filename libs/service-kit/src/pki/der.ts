// A minimal DER (ASN.1) writer: exactly the types an X.509 v3 certificate needs.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: tag, length, contents. */
export function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

/** SEQUENCE of the given elements. */
export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);

/** SET of the given elements. */
export const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);

/** INTEGER from unsigned big-endian bytes (a leading zero keeps it positive). */
export function integer(bytes: Buffer | number): Buffer {
  let b = typeof bytes === 'number' ? Buffer.from([bytes]) : bytes;
  let start = 0;
  while (start < b.length - 1 && b[start] === 0 && ((b[start + 1] ?? 0) & 0x80) === 0) start++;
  b = b.subarray(start);
  if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups: number[] = [];
    let v = n;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

/** BOOLEAN. */
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));

/** UTF8String. */
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));

/** OCTET STRING. */
export const octets = (b: Buffer): Buffer => tlv(0x04, b);

/** BIT STRING of whole bytes (no unused bits). */
export const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);

/** BIT STRING of named bits (bit 0 is the most significant bit of the first byte), trailing zero bits dropped as DER requires. */
export function namedBits(indices: readonly number[]): Buffer {
  const top = Math.max(...indices);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const i of indices) bytes[Math.floor(i / 8)] = (bytes[Math.floor(i / 8)] ?? 0) | (0x80 >> i % 8);
  return tlv(0x03, Buffer.from([7 - (top % 8)]), bytes);
}

/** UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
export function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

/** A context-specific tag: constructed (explicit) or primitive (implicit). */
export const context = (n: number, constructed: boolean, ...contents: Buffer[]): Buffer => tlv((constructed ? 0xa0 : 0x80) | n, ...contents);
