import { PINNERFORMER_ACTION_TYPES } from '@pinrank/models';
import { readActionBatches } from '@pinrank/sim';
import type { PositiveAction } from '@pinrank/train';

/** One kept action: everything the encoder needs except the content vector (the same record training reads). */
export type HistoryAction = PositiveAction;

/** Per-user last-M positive actions up to an as-of time, plus when each user was last active. */
export interface UserHistories {
  /** User index → newest-last ring of at most M actions (oldest dropped). */
  actions: Map<number, HistoryAction[]>;
  /** User index → timestamp of the user's latest action of any type at or before as-of. */
  lastActiveMs: Map<number, number>;
}

/**
 * Streams an action log once and keeps, for each user in [userFrom, userTo),
 * the last `maxLen` positive actions at or before `asOfMs`.
 */
export async function collectUserHistories(
  logPath: string,
  opts: { asOfMs: number; maxLen: number; userFrom: number; userTo: number },
): Promise<UserHistories> {
  const actions = new Map<number, HistoryAction[]>();
  const lastActiveMs = new Map<number, number>();
  let position = 0;
  for await (const batch of readActionBatches(logPath)) {
    for (let i = 0; i < batch.length; i++, position++) {
      const ts = batch.timestampMs[i] as number;
      if (ts > opts.asOfMs) continue;
      const user = batch.userIndex[i] as number;
      if (user < opts.userFrom || user >= opts.userTo) continue;
      lastActiveMs.set(user, Math.max(lastActiveMs.get(user) ?? 0, ts));
      const type = batch.actionType[i] as number;
      if (!PINNERFORMER_ACTION_TYPES.has(type)) continue;
      let list = actions.get(user);
      if (!list) actions.set(user, (list = []));
      list.push({
        position,
        itemIndex: batch.itemIndex[i] as number,
        actionType: type,
        timestampMs: ts,
        surface: batch.surface[i] as number,
        durationMs: batch.durationMs[i] as number,
      });
      if (list.length > 2 * opts.maxLen) list.splice(0, list.length - opts.maxLen);
    }
  }
  for (const list of actions.values()) if (list.length > opts.maxLen) list.splice(0, list.length - opts.maxLen);
  return { actions, lastActiveMs };
}
