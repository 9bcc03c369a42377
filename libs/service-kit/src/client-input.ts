import { PinrankError } from './errors';

/** Most bytes of one client-supplied value that an error message quotes. */
export const MAX_ECHO_BYTES = 128;

/**
 * Most bytes of a status message sent to a caller. grpc-js sends the message
 * in a trailer; trailers over ~64 KB hang the call to its deadline and then
 * break the caller's channel, so every status is capped well below that.
 */
export const MAX_STATUS_DETAILS_BYTES = 2048;

/** Longest id (user, item, action, request id) any service accepts, in UTF-8 bytes. */
export const MAX_RPC_ID_BYTES = 256;

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length <= maxBytes / 3 || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes) break;
    bytes += b;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * A client-supplied value as an error message may show it: JSON-quoted (so
 * control characters and quotes are escaped), at most `maxBytes` of it, and
 * the full size when it was cut: `"abc…" (5000 bytes)`. Use it wherever a
 * message embeds something the caller sent.
 */
export function quote(value: unknown, maxBytes = MAX_ECHO_BYTES): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = truncateUtf8(text, maxBytes);
  if (cut.length === text.length) return JSON.stringify(text);
  return `${JSON.stringify(`${cut}…`)} (${Buffer.byteLength(text, 'utf8')} bytes)`;
}

/**
 * Caps a status message at {@link MAX_STATUS_DETAILS_BYTES}: the last line of
 * defence (at the server edge) against a message that embeds unbounded input.
 */
export function capStatusDetails(details: string, maxBytes = MAX_STATUS_DETAILS_BYTES): string {
  const cut = truncateUtf8(details, maxBytes);
  return cut.length === details.length ? details : `${cut}… (message truncated)`;
}

/** Options of {@link checkId}. */
export interface IdCheckOptions {
  /** Longest accepted value in UTF-8 bytes; default {@link MAX_RPC_ID_BYTES}. */
  maxBytes?: number;
  /** Whether an empty value is refused; default true. */
  required?: boolean;
}

/**
 * Checks an id a client sent: present (unless optional) and at most
 * `maxBytes` of UTF-8 (stores have key limits: LMDB refuses keys near 2 KB).
 * Thrown by: an empty or oversized id — INVALID_ARGUMENT naming `field`.
 */
export function checkId(value: string, field: string, options: IdCheckOptions = {}): void {
  const maxBytes = options.maxBytes ?? MAX_RPC_ID_BYTES;
  if (!value) {
    if (options.required ?? true) throw new PinrankError('INVALID_ARGUMENT', `${field}: required`);
    return;
  }
  if (value.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) throw new PinrankError('INVALID_ARGUMENT', `${field}: ${bytes} bytes; at most ${maxBytes} bytes (UTF-8)`);
}
