import { readFile } from 'node:fs/promises';
import { itemId, loadWorld, userId } from '@pinrank/sim';
import { Workload, zipfWeights } from './workload';

/** How users are drawn from a world: Zipf over a seeded ranking of users, or uniformly. */
export type UserDistribution = 'zipf' | 'uniform';

/** How candidates are drawn from a world's catalog: by its popularity, or uniformly. */
export type ItemDistribution = 'popularity' | 'uniform';

/** Options of a workload drawn from a simulated world. */
export interface WorldWorkloadOptions {
  /** Candidates per request. */
  candidates: number;
  /** Seed of the draws. */
  seed: number;
  /** User distribution (default zipf). */
  users?: UserDistribution;
  /** Zipf exponent of the user distribution (default 1). */
  zipfExponent?: number;
  /** Candidate distribution (default popularity). */
  items?: ItemDistribution;
}

/** A workload over the users and catalog of the world written by `pinrank simulate` in `dir`. Thrown by: a missing or invalid world (ContractError). */
export async function worldWorkload(dir: string, opts: WorldWorkloadOptions): Promise<Workload> {
  const { world } = await loadWorld(dir);
  const nUsers = world.users;
  const nItems = world.items.popularity.length;
  const users = Array.from({ length: nUsers }, (_, i) => userId(i));
  const items = Array.from({ length: nItems }, (_, i) => itemId(i));
  return new Workload({
    users,
    items,
    candidates: opts.candidates,
    seed: opts.seed,
    ...((opts.users ?? 'zipf') === 'zipf' ? { userWeights: zipfWeights(nUsers, opts.zipfExponent ?? 1, opts.seed) } : {}),
    ...((opts.items ?? 'popularity') === 'popularity' ? { itemWeights: world.items.popularity } : {}),
  });
}

/** Splits a list of ids given inline or in a file (commas, whitespace or newlines), dropping blanks and duplicates. */
export function parseIdList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** Reads ids from a file (one per line, or comma-separated). */
export async function readIdFile(path: string): Promise<string[]> {
  return parseIdList(await readFile(path, 'utf8'));
}
