// Messages written with their large raw byte fields copied once, into a
// buffer of the final size. The generated encoder copies a bytes field into
// its growing buffer, again as the buffer grows, and again when a nested
// message's chunks are joined; for tensors of tens of kilobytes per answer
// those copies are most of the encoding. A frame is a message's encoded head
// (every field but the large ones) followed by its length-delimited fields,
// each raw bytes or another frame; protobuf lets fields come in any order,
// so every decoder reads the same message.
import { Tensor } from './gen/index';

/** Tag byte of a length-delimited field (field numbers below 16 only: one byte). */
export const delimited = (field: number): number => {
  if (field < 1 || field > 15) throw new RangeError(`field ${field}: only fields 1-15 have a one-byte tag`);
  return (field << 3) | 2;
};

const TENSOR_RAW = delimited(7);
/** An encoded empty head. */
export const EMPTY = new Uint8Array(0);
const NO_RAW = Buffer.alloc(0);

/** A message still to be written: its encoded head, then length-delimited fields holding raw bytes or other such messages. */
export interface Frame {
  readonly head: Uint8Array;
  readonly fields: ReadonlyArray<{ readonly tag: number; readonly body: Uint8Array | Frame; readonly bodySize: number }>;
  readonly size: number;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** A frame of `head` followed by the length-delimited fields `bodies` ([tag, raw bytes or frame]). */
export function frame(head: Uint8Array, bodies: ReadonlyArray<readonly [number, Uint8Array | Frame]>): Frame {
  let size = head.byteLength;
  const fields = bodies.map(([tag, body]) => {
    const bodySize = body instanceof Uint8Array ? body.byteLength : body.size;
    size += 1 + varintSize(bodySize) + bodySize;
    return { tag, body, bodySize };
  });
  return { head, fields, size };
}

/** Writes `f` into `out` at `at`; returns where it ended. */
function write(f: Frame, out: Buffer, at: number): number {
  out.set(f.head, at);
  at += f.head.byteLength;
  for (const { tag, body, bodySize } of f.fields) {
    out[at++] = tag;
    let n = bodySize;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[at++] = n;
    if (body instanceof Uint8Array) {
      out.set(body, at);
      at += bodySize;
    } else at = write(body, out, at);
  }
  return at;
}

/** `f` as bytes, in one allocation of its exact size (a frame of a head alone is a view of the head: no copy). */
export function bytesOf(f: Frame): Buffer {
  if (f.fields.length === 0) return Buffer.from(f.head.buffer, f.head.byteOffset, f.head.byteLength);
  const out = Buffer.allocUnsafe(f.size);
  const end = write(f, out, 0);
  if (end !== f.size) throw new Error(`raw frame: wrote ${end} bytes of ${f.size}`);
  return out;
}

/** A Tensor whose raw bytes are written after its other fields, copied once. */
export function tensorFrame(t: Tensor): Frame {
  if (t.raw.byteLength === 0) return frame(Tensor.encode(t).finish(), []);
  return frame(Tensor.encode({ ...t, raw: NO_RAW }).finish(), [[TENSOR_RAW, t.raw]]);
}
