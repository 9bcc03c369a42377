/**
 * The server's side of a stream that carries many requests: reads
 * `requests`, runs `answer` on up to `maxInFlight` of them at once (reading
 * no further until one finishes) and yields the answers in the order they
 * finish. `answer` settles its own failures into an answer and must not
 * reject. When the input fails, the answers of what was taken are yielded
 * first, then its error is thrown.
 */
export async function* answerConcurrently<Req, Res>(requests: AsyncIterable<Req>, answer: (req: Req, index: number) => Promise<Res>, maxInFlight: number): AsyncGenerator<Res> {
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new TypeError(`answerConcurrently: maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  const done: Res[] = [];
  const slotWaiters: Array<() => void> = [];
  let wake: (() => void) | undefined;
  let inflight = 0;
  let ended = false;
  let inputError: unknown;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const reader = (async (): Promise<void> => {
    let index = 0;
    try {
      for await (const req of requests) {
        while (inflight >= maxInFlight) await new Promise<void>((resolve) => slotWaiters.push(resolve));
        inflight++;
        void answer(req, index++).then((res) => {
          done.push(res);
          inflight--;
          slotWaiters.shift()?.();
          notify();
        });
      }
    } catch (err) {
      inputError = err;
    } finally {
      ended = true;
      notify();
    }
  })();
  for (;;) {
    if (done.length > 0) {
      yield done.shift() as Res;
      continue;
    }
    if (ended && inflight === 0) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  await reader;
  if (inputError !== undefined) throw inputError;
}
