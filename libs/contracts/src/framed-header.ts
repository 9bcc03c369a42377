import { ContractError } from './contract-error';

/** The little a header reader needs from a buffered byte source. */
export interface FramedByteSource {
  /** Makes `n` bytes available; false when the input ends first. */
  ensure(n: number): Promise<boolean>;
  /** Hands out the next `n` bytes. */
  take(n: number): Buffer;
}

/**
 * Reads the framing every pinrank binary file starts with — 8 magic bytes, a
 * u32 little-endian length, that many bytes of JSON — and returns the parsed,
 * not yet validated, header. Thrown by: wrong magic, a length out of range, a
 * truncated or non-JSON header (ContractError naming the file).
 */
export async function readFramedHeader(
  bytes: FramedByteSource,
  framing: { magic: Buffer; maxHeaderBytes: number; what: string },
  path: string,
): Promise<unknown> {
  if (!(await bytes.ensure(framing.magic.length + 4)) || !bytes.take(framing.magic.length).equals(framing.magic))
    throw new ContractError(`not a pinrank ${framing.what} (bad magic bytes)`, path, 'magic');
  const len = bytes.take(4).readUInt32LE(0);
  if (len === 0 || len > framing.maxHeaderBytes)
    throw new ContractError(`header length ${len} is out of range 1..${framing.maxHeaderBytes}`, path, 'header');
  if (!(await bytes.ensure(len))) throw new ContractError('file ends inside the header (truncated?)', path, 'header');
  try {
    return JSON.parse(bytes.take(len).toString('utf8'));
  } catch (cause) {
    throw new ContractError('header is not valid JSON', path, 'header', { cause });
  }
}
