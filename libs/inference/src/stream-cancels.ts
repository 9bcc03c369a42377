import { type ModelInferRequest } from '@pinrank/proto';
import { isCancelMessage } from './request-params';

/** What one request of a stream runs under: its own cancellation, and the call to make when it is done. */
export interface TrackedRequest {
  readonly signal: AbortSignal;
  /** Forgets the request (its id may be cancelled no more); call once it is answered. */
  release(): void;
}

const NOT_TRACKED: Pick<TrackedRequest, 'release'> = { release() {} };

/**
 * The cancellations of one ModelStreamInfer call. A unary call is cancelled
 * by cancelling the call; a request sent as one message of a long-lived
 * stream has no call of its own, so the client sends a second message with
 * the same id and the parameter `cancel` = true (request-params.ts). The
 * stream takes those messages out of what it runs ({@link requests}) and
 * aborts the signal of the request in flight with that id ({@link track}):
 * the batcher drops it if it has not run yet, and its answer is CANCELLED.
 *
 * A cancellation names a request by id, so only requests with an id can be
 * cancelled, and while two requests in flight share an id the first one holds
 * it. One for no request in flight (already answered, never sent) is ignored:
 * the two messages cross on the wire. Cancellations are read in order with
 * the requests, as the stream reads its next message; the stream reads
 * further ahead than it runs (stream-infer.ts), so a cancel message is read
 * while the requests before it wait for a slot, and one of those can be
 * cancelled before it starts.
 */
export class StreamCancels {
  private readonly live = new Map<string, AbortController>();
  private cancelledCount = 0;

  /**
   * @param stream the stream call's signal: its end cancels every request in flight.
   * @param counted told of each cancel message, and whether it found its request in flight (for metrics).
   */
  constructor(
    private readonly stream: AbortSignal,
    private readonly counted?: (found: boolean) => void,
  ) {
    stream.addEventListener('abort', () => {
      for (const c of this.live.values()) c.abort();
    }, { once: true });
  }

  /** Cancellations that found their request in flight. */
  get cancelled(): number {
    return this.cancelledCount;
  }

  /** The requests of `messages`, acting on the cancellations among them as they are read. */
  async *requests(messages: AsyncIterable<ModelInferRequest>): AsyncGenerator<ModelInferRequest> {
    for await (const m of messages) {
      if (!isCancelMessage(m)) {
        yield m;
        continue;
      }
      const c = this.live.get(m.id);
      const found = c !== undefined && !c.signal.aborted;
      if (found) {
        this.cancelledCount++;
        c.abort();
      }
      this.counted?.(found);
    }
  }

  /** The cancellation of one request taken from {@link requests}; `release()` it once answered. */
  track(req: Pick<ModelInferRequest, 'id'>): TrackedRequest {
    const id = req.id;
    if (id === '' || this.live.has(id)) return { signal: this.stream, ...NOT_TRACKED };
    const c = new AbortController();
    if (this.stream.aborted) c.abort();
    this.live.set(id, c);
    return {
      signal: c.signal,
      release: () => {
        if (this.live.get(id) === c) this.live.delete(id);
      },
    };
  }
}
