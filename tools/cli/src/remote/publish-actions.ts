import { type JetStreamClient, type NatsConnection } from 'nats';
import { actionSubject } from '@pinrank/contracts';
import { connectNats, type NatsSecurity } from '@pinrank/nats';
import { UserAction } from '@pinrank/proto';

/** Where and how a producer publishes actions onto the JetStream action stream. */
export interface ActionStreamTarget {
  /** NATS server URLs, comma separated. */
  servers: string;
  /** The action stream's subject (with partitions, the prefix of each partition's subject). */
  subject: string;
  /** Partitions of the action stream (FEATURE_SERVER_NATS_PARTITIONS of the feature-servers). */
  partitions: number;
  /** TLS and credentials of the connection (default: plaintext, none). */
  security?: NatsSecurity;
  /**
   * How long one action's publish is tried again while JetStream gives no acknowledgement
   * (a timeout, or no responders: a stream's leader being elected), ms. Default 30000; 0 tries
   * once. The action id is the message id, so a publish stored but not acknowledged is not
   * stored twice.
   */
  retryForMs?: number;
}

/** Errors of a publish that another try may cure: no acknowledgement in time, or nobody to answer yet. */
const retryable = (err: unknown): boolean => ['TIMEOUT', '503'].includes(String((err as { code?: unknown }).code));
/** Wait between two tries of one publish, ms. */
const RETRY_WAIT_MS = 250;

/** Most publishes awaiting their acknowledgement at once. */
const IN_FLIGHT = 256;

/**
 * A producer of the action stream: publishes each action, protobuf-encoded, on its user's
 * partition subject (`actionSubject` of `@pinrank/contracts`), with the action id as the
 * message id, so JetStream drops a copy published again within its duplicate window.
 */
export class ActionPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly target: ActionStreamTarget,
  ) {}

  static async open(target: ActionStreamTarget): Promise<ActionPublisher> {
    const nc = await connectNats({ servers: target.servers, name: 'pinrank-action-producer', ...target.security });
    return new ActionPublisher(nc, nc.jetstream(), target);
  }

  /**
   * Publishes `actions` (at most 256 awaiting their acknowledgement) and resolves when
   * JetStream has stored every one; rejects on the first that it did not.
   */
  async publish(actions: Iterable<Partial<UserAction>>): Promise<number> {
    const inFlight = new Set<Promise<unknown>>();
    let failure: unknown;
    let published = 0;
    for (const a of actions) {
      if (failure) break;
      const action = UserAction.fromPartial(a);
      const p = this.publishOne(action).then(
          () => void published++,
          (err: unknown) => void (failure ??= err),
        );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
    return published;
  }

  /** Publishes one action, trying again on a retryable error until `retryForMs` after the first try. */
  private async publishOne(action: UserAction): Promise<void> {
    const subject = actionSubject(this.target.subject, action.userId, this.target.partitions);
    const data = UserAction.encode(action).finish();
    const until = Date.now() + (this.target.retryForMs ?? 30_000);
    for (;;) {
      try {
        await this.js.publish(subject, data, { msgID: action.actionId });
        return;
      } catch (err) {
        if (!retryable(err) || Date.now() + RETRY_WAIT_MS > until) {
          throw new Error(`JetStream did not store action ${action.actionId} on ${subject}: ${(err as Error).message}${retryable(err) ? ' (no stream on the subject, or none of its servers answering)' : ''}`);
        }
        await new Promise((r) => setTimeout(r, RETRY_WAIT_MS));
      }
    }
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
