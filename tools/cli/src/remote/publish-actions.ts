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
}

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
      const p = this.js
        .publish(actionSubject(this.target.subject, action.userId, this.target.partitions), UserAction.encode(action).finish(), { msgID: action.actionId })
        .then(
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

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
