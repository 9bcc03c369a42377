import { watch, type FSWatcher } from 'node:fs';
import { type Logger } from 'pino';
import { type ModelRepository } from './model-repository';

/** How the repository directory is watched. */
export type WatchMode = 'poll' | 'fs' | 'off';

/** Options of {@link RepositoryWatcher}. */
export interface RepositoryWatcherOptions {
  repository: Pick<ModelRepository, 'root' | 'fingerprint'>;
  /** 'poll' rescans every `pollIntervalMs`; 'fs' uses fs.watch (recursive) plus a slow rescan; default 'poll'. */
  mode?: WatchMode;
  /** Rescan interval for 'poll' (and the safety rescan of 'fs'); default 2000 ms. */
  pollIntervalMs?: number;
  /** Changes are reported after the tree has been quiet this long; default 500 ms. */
  debounceMs?: number;
  /** Called with the names of models whose files changed (added, replaced or removed). */
  onChange: (models: string[]) => Promise<void>;
  logger?: Logger;
}

/**
 * Watches a model repository and reports which models changed, once the
 * files have stopped changing for `debounceMs` (so half-copied versions are
 * not loaded twice). Reports never overlap: the next waits for `onChange`.
 */
export class RepositoryWatcher {
  private readonly o: Required<Omit<RepositoryWatcherOptions, 'logger'>> & { logger?: Logger | undefined };
  private last: Map<string, string> | undefined;
  private candidate: Map<string, string> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private fsWatcher: FSWatcher | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private stopped = false;

  constructor(options: RepositoryWatcherOptions) {
    this.o = { ...options, mode: options.mode ?? 'poll', pollIntervalMs: options.pollIntervalMs ?? 2000, debounceMs: options.debounceMs ?? 500 };
    if (!(this.o.pollIntervalMs > 0)) throw new TypeError(`RepositoryWatcher: pollIntervalMs must be > 0, got ${this.o.pollIntervalMs}`);
    if (!(this.o.debounceMs >= 0)) throw new TypeError(`RepositoryWatcher: debounceMs must be >= 0, got ${this.o.debounceMs}`);
  }

  /** Takes the current tree as the baseline and starts watching. */
  async start(): Promise<void> {
    if (this.o.mode === 'off') return;
    this.last = await this.o.repository.fingerprint();
    if (this.o.mode === 'fs') {
      try {
        this.fsWatcher = watch(this.o.repository.root, { recursive: true }, () => this.poke());
        this.fsWatcher.on('error', (err) => this.o.logger?.warn({ err }, 'repository fs.watch failed; polling only'));
      } catch (err) {
        this.o.logger?.warn({ err }, 'fs.watch unavailable for the repository; polling only');
      }
    }
    this.schedulePoll();
  }

  /** Stops watching and waits for a report in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.fsWatcher?.close();
    await this.running;
  }

  /** Compares the tree with the last one seen and reports the models that differ at once (no quiet period). */
  async check(): Promise<string[]> {
    return this.report(await this.o.repository.fingerprint());
  }

  private async report(now: Map<string, string>): Promise<string[]> {
    const changed = diff(this.last ?? new Map(), now);
    this.last = now;
    this.candidate = undefined;
    if (changed.length > 0) {
      this.o.logger?.info({ models: changed }, 'model repository changed');
      await this.o.onChange(changed);
    }
    return changed;
  }

  /** Reports only a tree that has stayed the same for one quiet period. */
  private async checkStable(): Promise<void> {
    const now = await this.o.repository.fingerprint();
    if (diff(this.last ?? new Map(), now).length === 0) {
      this.candidate = undefined;
      return;
    }
    if (this.o.debounceMs > 0 && (!this.candidate || diff(this.candidate, now).length > 0)) {
      this.candidate = now;
      this.pending = true;
      return;
    }
    await this.report(now);
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    const interval = this.o.mode === 'fs' ? this.o.pollIntervalMs * 5 : this.o.pollIntervalMs;
    this.pollTimer = setTimeout(() => this.poke(), interval);
  }

  /** Something may have changed: (re)start the quiet period, then check. */
  private poke(): void {
    if (this.stopped) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.fire(), this.o.debounceMs);
  }

  private fire(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.checkStable()
      .then(
        () => undefined,
        (err: unknown) => this.o.logger?.error({ err }, 'model repository check failed'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.pending) {
          this.pending = false;
          this.poke();
        }
        clearTimeout(this.pollTimer);
        this.schedulePoll();
      });
  }
}

function diff(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((n) => a.get(n) !== b.get(n)).sort();
}
