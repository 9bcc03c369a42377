/** What the race below resolves with when the server starts draining. */
const DRAINED = Symbol('drained');

/**
 * The messages of a request stream until `draining` aborts (the server's
 * graceful shutdown), then no more: a long-lived stream handler reads
 * through this, answers what it already took, and ends, instead of holding
 * the shutdown open until its timeout. Messages the client sent after that
 * are not read; the client learns from the stream's end that they were not
 * answered (LookupStreamClient sends them again as unary calls). The
 * underlying iterator is left as it is (the kit iterates a call without
 * destroying it), so the answers can still be written.
 */
export async function* untilDraining<T>(requests: AsyncIterable<T>, draining: AbortSignal | undefined): AsyncGenerator<T> {
  if (!draining) {
    yield* requests;
    return;
  }
  const it = requests[Symbol.asyncIterator]();
  let onAbort: () => void = () => undefined;
  const drained = new Promise<typeof DRAINED>((resolve) => {
    onAbort = () => resolve(DRAINED);
    draining.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      // Checked before each read too: a message already buffered would otherwise win the race below.
      if (draining.aborted) return;
      const next = await Promise.race([it.next(), drained]);
      if (next === DRAINED || next.done) return;
      yield next.value;
    }
  } finally {
    draining.removeEventListener('abort', onAbort);
  }
}
