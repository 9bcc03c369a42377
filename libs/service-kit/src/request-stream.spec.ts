import { PassThrough } from 'node:stream';
import { PinrankError } from './errors';
import { tolerantDefinition } from './request-decoding';
import { REQUEST_READ_AHEAD, RequestStream } from './request-stream';
import { untilDraining } from './stream-drain';

const PATH = '/pinrank.test.Echo/Stream';

/** A call's request side as grpc-js gives it: an object-mode Readable. */
const callStream = (): PassThrough => new PassThrough({ objectMode: true });

/** What the kit's tolerant deserializer hands on for bytes it cannot decode. */
function undecodable(): unknown {
  const def = tolerantDefinition({
    stream: {
      path: PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: unknown) => Buffer.from(String(m)),
      requestDeserialize: (_bytes: Buffer): unknown => {
        throw new Error('index out of range');
      },
      responseSerialize: (m: unknown) => Buffer.from(String(m)),
      responseDeserialize: (b: Buffer) => b.toString(),
    },
  });
  return def.stream?.requestDeserialize(Buffer.from('x'));
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function readAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const v of it) got.push(v);
  return got;
}

describe('RequestStream', () => {
  it('yields every message in order, those sent before the reader asks and after, and ends with the input', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    call.write(1);
    call.write(2);
    const reading = readAll(input);
    await tick();
    call.write(3);
    call.end();
    await expect(reading).resolves.toEqual([1, 2, 3]);
  });

  it('reads at most its read-ahead before pausing the call, and resumes as the reader catches up', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    for (let i = 0; i < 5 * REQUEST_READ_AHEAD; i++) call.write(i);
    await tick();
    expect(call.isPaused()).toBe(true);
    // The rest waits in the call's own buffer (where HTTP/2 flow control takes over).
    expect(call.readableLength).toBeGreaterThan(0);
    call.end();
    const got = await readAll(input);
    expect(got).toEqual(Array.from({ length: 5 * REQUEST_READ_AHEAD }, (_, i) => i));
  });

  it('holds only what is unread when the reader never quite empties the queue', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    call.write(0);
    await tick();
    for (let i = 1; i <= 1000; i++) {
      call.write(i); // one more arrives before each read: the queue is never empty
      await tick();
      await expect(input.next()).resolves.toEqual({ value: i - 1, done: false });
    }
    expect((input as unknown as { queue: unknown[] }).queue.length).toBeLessThanOrEqual(65);
  });

  it('throws INVALID_ARGUMENT at an undecodable message, after the messages before it, and then is done', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    call.write(1);
    call.write(undecodable());
    call.write(3);
    const got: number[] = [];
    const failure = await (async () => {
      try {
        for await (const v of input) got.push(v);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(got).toEqual([1]);
    expect(failure).toBeInstanceOf(PinrankError);
    expect((failure as PinrankError).code).toBe('INVALID_ARGUMENT');
    expect((failure as PinrankError).message).toMatch(/pinrank\.test\.Echo\/Stream could not be decoded: malformed protobuf/);
    await expect(input.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('an undecodable message that arrives while the reader waits fails that read', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    const read = input.next();
    call.write(undecodable());
    await expect(read).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('throws CANCELLED when the call closes before its input ended (the client cancelled)', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    call.write(1);
    await expect(input.next()).resolves.toEqual({ value: 1, done: false });
    const read = input.next();
    call.destroy();
    await expect(read).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(input.next()).resolves.toMatchObject({ done: true });
  });

  it("passes on the call's error, at once if the reader waits and at the next read if not", async () => {
    const waiting = callStream();
    const a = new RequestStream<number>(waiting, PATH);
    const read = a.next();
    waiting.destroy(new Error('stream reset'));
    await expect(read).rejects.toThrow('stream reset');

    const idle = callStream();
    const b = new RequestStream<number>(idle, PATH);
    idle.destroy(new Error('stream reset'));
    await tick();
    await expect(b.next()).rejects.toThrow('stream reset');
  });

  it('a reader that stops early leaves the call open and no longer listened to', async () => {
    const call = callStream();
    const input = new RequestStream<number>(call, PATH);
    call.write(1);
    call.write(2);
    for await (const v of input) if (v === 1) break;
    expect(call.destroyed).toBe(false);
    expect(call.listenerCount('data')).toBe(0);
    expect(call.listenerCount('close')).toBe(0);
    await expect(input.next()).resolves.toMatchObject({ done: true });
  });

  it('untilDraining ends it when the drain starts, without a wrapper: a pending read resolves done and buffered messages stay unread', async () => {
    const call = callStream();
    const drain = new AbortController();
    const input = new RequestStream<number>(call, PATH);
    const drained = untilDraining(input, drain.signal);
    expect(drained).toBe(input);
    const got: number[] = [];
    const reading = (async () => {
      for await (const v of drained) {
        got.push(v);
        if (v === 2) {
          call.write(3); // buffered before the drain, read after it: not taken
          await tick();
          drain.abort();
        }
      }
    })();
    call.write(1);
    call.write(2);
    await reading;
    expect(got).toEqual([1, 2]);
    expect(call.destroyed).toBe(false);

    // Already draining when the stream is wrapped: nothing is read.
    const late = callStream();
    late.write(9);
    await expect(readAll(untilDraining(new RequestStream<number>(late, PATH), drain.signal))).resolves.toEqual([]);
  });
});
