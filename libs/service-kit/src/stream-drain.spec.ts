import { untilDraining } from './stream-drain';

/** An async iterable the test feeds by hand: `push` a message, `end` the input. */
function manualStream<T>(): { push(v: T): void; end(): void; iterable: AsyncIterable<T> } {
  const buffered: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | undefined;
  let ended = false;
  return {
    push(v) {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w({ value: v, done: false });
      } else buffered.push(v);
    },
    end() {
      ended = true;
      waiting?.({ value: undefined, done: true });
    },
    iterable: {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          buffered.length > 0
            ? Promise.resolve({ value: buffered.shift() as T, done: false })
            : ended
              ? Promise.resolve({ value: undefined, done: true })
              : new Promise<IteratorResult<T>>((resolve) => (waiting = resolve)),
      }),
    },
  };
}

describe('untilDraining', () => {
  it('passes every message through while the server is not draining, and ends with the input', async () => {
    const s = manualStream<number>();
    const drain = new AbortController();
    const got: number[] = [];
    const reading = (async () => {
      for await (const v of untilDraining(s.iterable, drain.signal)) got.push(v);
    })();
    s.push(1);
    s.push(2);
    s.end();
    await reading;
    expect(got).toEqual([1, 2]);
  });

  it('stops reading when the drain starts: a pending read is abandoned and buffered messages are left unread', async () => {
    const s = manualStream<number>();
    const drain = new AbortController();
    const got: number[] = [];
    const reading = (async () => {
      for await (const v of untilDraining(s.iterable, drain.signal)) {
        got.push(v);
        if (v === 2) {
          s.push(3); // buffered before the drain, read after it: not taken
          drain.abort();
        }
      }
    })();
    s.push(1);
    await new Promise((r) => setTimeout(r, 5));
    s.push(2);
    await reading;
    expect(got).toEqual([1, 2]);

    // A read already waiting when the drain starts ends at once, without an input end.
    const idle = manualStream<number>();
    const d2 = new AbortController();
    const ended = (async () => {
      for await (const _ of untilDraining(idle.iterable, d2.signal)) throw new Error('nothing was sent');
      return 'ended';
    })();
    await new Promise((r) => setTimeout(r, 5));
    d2.abort();
    await expect(ended).resolves.toBe('ended');
  });

  it('reads everything when there is no drain signal', async () => {
    const s = manualStream<string>();
    s.push('a');
    s.end();
    const got: string[] = [];
    for await (const v of untilDraining(s.iterable, undefined)) got.push(v);
    expect(got).toEqual(['a']);
  });
});
