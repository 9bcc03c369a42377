import { randomUUID } from 'node:crypto';
import { keyNodes, type RedisClient } from '@pinrank/redis';
import { idsSequencePattern, layoutClientName, layoutKey, TAKEN_OVER, userOfIdsSequenceKey, type LayoutMark } from './redis-layout-mark';

/** Options of a {@link TakeoverSweep}. */
export interface TakeoverSweepOptions {
  /** At most this many keys SCANned per second; 0 only watches the mark. Default 20 000. */
  keysPerSecond?: number;
  /** SCAN COUNT of one page. Default 1000. */
  pageKeys?: number;
  /** How long one replica holds the sweep without renewing it; the others wait. Default 30 s. */
  leaseMs?: number;
  /** Wait before trying again: another replica sweeping, an ids-layout replica still connected, an error. Default 30 s. */
  retryMs?: number;
  /** Progress and reasons to wait. */
  logger?: SweepLogger;
  /** Called with the number of users each page moved into the rows. */
  onMoved?: (users: number) => void;
}

/** The log lines a sweep writes (a pino logger fits). */
export interface SweepLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** What a takeover sweep works on: the records-layout store of the prefix. */
export interface TakeoverTarget {
  readonly layoutMark: LayoutMark;
  refreshLayoutMark(): Promise<LayoutMark>;
  moveToRows(userIds: readonly string[]): Promise<void>;
}

/** How a sweep ended: the prefix is plain `records` now, or the sweep was stopped first. */
export type SweepOutcome = 'finished' | 'stopped';

/** One pass's result: the mark was set, more to do, or the lease or the sweep ended first. */
type PassResult = 'finished' | 'again' | 'wait' | 'stopped';

const DEFAULTS = { keysPerSecond: 20_000, pageKeys: 1000, leaseMs: 30_000, retryMs: 30_000 };

// KEYS: lease. ARGV: token, ms. Renews the lease only while this sweep holds it.
const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
// KEYS: lease. ARGV: token. Gives the lease up only while this sweep holds it.
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// KEYS: layout mark. Finishes a takeover: records+ids becomes records, nothing else changes.
const FINISH_LUA = `if redis.call('GET', KEYS[1]) == '${TAKEN_OVER}' then redis.call('SET', KEYS[1], 'records') return 1 end return 0`;

/**
 * Finishes the takeover of a prefix the records layout took over from the ids layout
 * (`records+ids`): SCANs the prefix for users whose actions are still in the ids layout
 * and moves them into the rows (the append script, with no actions), at most
 * `keysPerSecond`. Once a whole pass finds none, and no ids-layout replica of the prefix is
 * connected before or after it (CLIENT LIST, by the client names stores give their
 * connections), it marks the prefix `records`: from then on reads send no `EXISTS` for the
 * ids layout (other replicas notice within `retryMs`), and no ids-layout replica starts on it.
 * One replica sweeps at a time (a lease key, `<prefix>layout:sweep`); the others watch the mark.
 * Errors are logged and retried after `retryMs`; nothing is lost by stopping midway.
 */
export class TakeoverSweep {
  /** Settles when the sweep ends; never rejects. */
  readonly done: Promise<SweepOutcome>;
  private readonly o: typeof DEFAULTS & Pick<TakeoverSweepOptions, 'logger' | 'onMoved'>;
  private readonly leaseKey: string;
  private readonly token = randomUUID();
  private stopping = false;
  private wake: (() => void) | undefined;
  private warnedClientList = false;

  constructor(
    private readonly target: TakeoverTarget,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: TakeoverSweepOptions = {},
  ) {
    this.o = { ...DEFAULTS, ...options };
    for (const k of ['keysPerSecond', 'pageKeys', 'leaseMs', 'retryMs'] as const) {
      const v = this.o[k];
      if (!Number.isFinite(v) || v < 0 || (k !== 'keysPerSecond' && v === 0)) {
        redis.disconnect();
        throw new RangeError(`takeover sweep: ${k} must be ${k === 'keysPerSecond' ? '>= 0' : '> 0'}, got ${v}`);
      }
    }
    this.leaseKey = `${layoutKey(prefix)}:sweep`;
    this.done = this.run();
  }

  /** Stops the sweep (between pages) and waits for it to end. */
  async stop(): Promise<SweepOutcome> {
    this.stopping = true;
    this.wake?.();
    return this.done;
  }

  private async run(): Promise<SweepOutcome> {
    try {
      while (!this.stopping) {
        let result: PassResult = 'wait';
        try {
          if ((await this.target.refreshLayoutMark()) !== TAKEN_OVER) return 'finished';
          if (this.o.keysPerSecond > 0 && (await this.redis.set(this.leaseKey, this.token, 'PX', this.o.leaseMs, 'NX')) === 'OK') {
            try {
              result = await this.pass();
            } finally {
              await this.redis.eval(RELEASE_LUA, 1, this.leaseKey, this.token).catch(() => undefined);
            }
          }
        } catch (err) {
          this.o.logger?.warn({ prefix: this.prefix, err: (err as Error).message }, 'redis takeover sweep failed; trying again');
        }
        if (result === 'finished') return 'finished';
        if (result !== 'again') await this.pause(this.o.retryMs);
      }
      return 'stopped';
    } finally {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  /** One SCAN pass over the prefix (every node of a cluster), moving every user found; marks the prefix `records` after a clean one. */
  private async pass(): Promise<PassResult> {
    const before = await this.idsReplicas();
    const pattern = idsSequencePattern(this.prefix);
    const pageMs = (this.o.pageKeys * 1000) / this.o.keysPerSecond;
    let moved = 0;
    for (const node of keyNodes(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', this.o.pageKeys);
        cursor = next;
        if (keys.length > 0) {
          await this.target.moveToRows([...new Set(keys)].map((k) => userOfIdsSequenceKey(this.prefix, k)));
          moved += keys.length;
          this.o.onMoved?.(keys.length);
        }
        if ((await this.redis.eval(RENEW_LUA, 1, this.leaseKey, this.token, this.o.leaseMs)) !== 1) return 'wait';
        await this.pause(pageMs);
        if (this.stopping) return 'stopped';
      } while (cursor !== '0');
    }
    const after = await this.idsReplicas();
    const fields = { prefix: this.prefix, moved, idsReplicas: after ?? 'unknown' };
    // Users moved: pass again, to see that none came back (a replica of an older version, which names no connection, would write them).
    if (moved > 0) {
      this.o.logger?.info(fields, 'redis takeover sweep: moved users into the records layout');
      return 'again';
    }
    if (before !== 0 || after !== 0) {
      if (after !== undefined) this.o.logger?.info(fields, 'redis takeover sweep: waiting for the ids-layout replicas of this prefix to go');
      return 'wait';
    }
    if ((await this.redis.eval(FINISH_LUA, 1, layoutKey(this.prefix))) === 1) {
      this.o.logger?.info(fields, 'redis takeover finished: the prefix is in the records layout');
    }
    await this.target.refreshLayoutMark();
    return 'finished';
  }

  /** How many connections of ids-layout stores of this prefix the nodes have; undefined when CLIENT LIST is refused. */
  private async idsReplicas(): Promise<number | undefined> {
    const name = layoutClientName('ids', this.prefix);
    const nodes = keyNodes(this.redis);
    try {
      let count = 0;
      for (const node of nodes) {
        const list = String(await node.call('CLIENT', 'LIST'));
        count += list.split('\n').filter((line) => / name=(\S*)/.exec(line)?.[1] === name).length;
      }
      return count;
    } catch (err) {
      if (!this.warnedClientList) {
        this.warnedClientList = true;
        this.o.logger?.warn(
          { prefix: this.prefix, err: (err as Error).message },
          `redis takeover sweep: cannot list Redis clients, so cannot tell whether ids-layout replicas are still connected; the prefix stays "${TAKEN_OVER}" (once none is, SET ${layoutKey(this.prefix)} records)`,
        );
      }
      return undefined;
    }
  }

  /** Waits `ms`, or less when stopped. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
