import { RequestStream } from './request-stream';

/** What a read resolves with when the server starts draining. */
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
export function untilDraining<T>(requests: AsyncIterable<T>, draining: AbortSignal | undefined): AsyncIterable<T> {
  if (!draining) return requests;
  // The kit's own request streams end themselves: no wrapper, nothing per message.
  if (requests instanceof RequestStream) return requests.endWhen(draining) as AsyncIterable<T>;
  return wrapped(requests, draining);
}

/** Any other iterable: each read races the drain (one promise per read; nothing is left on the drain's listeners). */
async function* wrapped<T>(requests: AsyncIterable<T>, draining: AbortSignal): AsyncGenerator<T> {
  const it = requests[Symbol.asyncIterator]();
  let drained: ((r: typeof DRAINED) => void) | undefined;
  const onAbort = (): void => drained?.(DRAINED);
  draining.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      // Checked before each read too: a message already buffered would otherwise win the race below.
      if (draining.aborted) return;
      const next = await new Promise<IteratorResult<T> | typeof DRAINED>((resolve, reject) => {
        drained = resolve;
        it.next().then(resolve, reject);
      });
      drained = undefined;
      if (next === DRAINED || next.done) return;
      yield next.value;
    }
  } finally {
    draining.removeEventListener('abort', onAbort);
  }
}
