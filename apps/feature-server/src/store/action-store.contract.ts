import { type ActionStore, type RetentionPolicy } from './action-store';
import { type StoredRecord } from './stored-record';

/** Retention used by the contract: small caps so trimming is exercised. */
export const CONTRACT_RETENTION: RetentionPolicy = { sequenceTypes: new Set([2, 3, 4, 5]), maxSequenceActions: 5, maxOtherActions: 3 };

/** A record for user `userId` with a vector derived from the timestamp. */
export function rec(userId: string, actionId: string, timestampMs: number, actionType = 3): StoredRecord {
  return {
    actionId,
    userId,
    itemId: `item-${timestampMs % 10}`,
    actionType,
    timestampMs,
    surface: 1,
    durationMs: 250,
    itemKnown: actionId !== 'unknown',
    vector: new Float32Array(32).map((_, j) => timestampMs / 1000 + j),
  };
}

const ids = (rs: StoredRecord[]): string[] => rs.map((r) => `${r.actionId}@${r.timestampMs}`).sort();

/**
 * The behaviour every ActionStore backend must show, as jest tests. `open` returns a
 * fresh, empty store (unique prefix or directory); `reopen` (optional) reopens the same data.
 */
export function describeActionStoreContract(
  name: string,
  open: () => Promise<ActionStore>,
  reopen?: (previous: ActionStore) => Promise<ActionStore>,
): void {
  describe(`${name} (ActionStore contract)`, () => {
    let store: ActionStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('returns an empty list for an unknown user', async () => {
      await expect(store.readSequence('nobody')).resolves.toEqual([]);
      await expect(store.readSequences(['nobody', 'nobody'])).resolves.toEqual([[], []]);
    });

    it('stores records with their enrichment and drops duplicate action ids, also within one batch', async () => {
      const out = await store.append([rec('u1', 'a', 1000), rec('u1', 'b', 2000), rec('u1', 'a', 3000)]);
      expect(out).toEqual(['accepted', 'accepted', 'duplicate']);
      expect(await store.append([rec('u1', 'b', 2000), rec('u2', 'b', 2000)])).toEqual(['duplicate', 'accepted']);
      const got = await store.readSequence('u1');
      expect(ids(got)).toEqual(['a@1000', 'b@2000']);
      const a = got.find((r) => r.actionId === 'a') as StoredRecord;
      expect(a).toMatchObject({ userId: 'u1', itemId: 'item-0', actionType: 3, surface: 1, durationMs: 250, itemKnown: true });
      expect(Array.from(a.vector)).toEqual(Array.from(rec('u1', 'a', 1000).vector));
    });

    it('keeps the newest actions by timestamp when they arrive out of order, trimming the oldest', async () => {
      const order = [7, 2, 9, 1, 5, 8, 3, 6, 4];
      const outcomes: string[] = [];
      for (const t of order) outcomes.push(...(await store.append([rec('u1', `x${t}`, t * 1000)])));
      const got = await store.readSequence('u1');
      expect(ids(got)).toEqual(['x5@5000', 'x6@6000', 'x7@7000', 'x8@8000', 'x9@9000']);
      // 4 arrives when the window already holds five newer actions: expired, not stored.
      expect(outcomes).toEqual([...Array<string>(8).fill('accepted'), 'expired']);
    });

    it('treats a redelivery of a trimmed action as expired, never storing it again', async () => {
      await store.append([1, 2, 3, 4, 5, 6].map((t) => rec('u1', `y${t}`, t * 1000)));
      expect(await store.append([rec('u1', 'y1', 1000), rec('u1', 'y6', 6000)])).toEqual(['expired', 'duplicate']);
      expect(ids(await store.readSequence('u1'))).toEqual(['y2@2000', 'y3@3000', 'y4@4000', 'y5@5000', 'y6@6000']);
    });

    it('caps other action types separately so impressions never evict engagements', async () => {
      await store.append([1, 2, 3].map((t) => rec('u1', `e${t}`, t * 1000, 2)));
      await store.append(Array.from({ length: 20 }, (_, i) => rec('u1', `imp${i}`, 100_000 + i, 1)));
      expect(ids(await store.readSequence('u1'))).toEqual(['e1@1000', 'e2@2000', 'e3@3000']);
      // Only the 3 newest impressions are kept: deleting the user removes 3 + 3 records.
      expect(await store.deleteUser('u1')).toBe(6);
    });

    it('keeps users whose ids share a prefix apart', async () => {
      await store.append([rec('u1', 'a', 1000), rec('u10', 'b', 2000), rec('u1\u0000x', 'c', 3000), rec('u', 'd', 4000)]);
      expect((await store.readSequences(['u1', 'u10', 'u1\u0000x', 'u'])).map(ids)).toEqual([['a@1000'], ['b@2000'], ['c@3000'], ['d@4000']]);
      expect(await store.deleteUser('u1')).toBe(1);
      expect((await store.readSequences(['u10', 'u1\u0000x', 'u'])).map((r) => r.length)).toEqual([1, 1, 1]);
    });

    it('reads a window: the newest `limit` sequence actions at or before as-of, also for many users', async () => {
      await store.append([1, 2, 3, 4, 5].map((t) => rec('u1', `w${t}`, t * 1000)));
      await store.append([rec('u1', 'imp', 3500, 1), rec('u2', 'v1', 1000)]);
      expect(ids(await store.readSequence('u1', { asOfMs: 4000, limit: 2 }))).toEqual(['w3@3000', 'w4@4000']);
      expect(ids(await store.readSequence('u1', { asOfMs: 3999, limit: 2 }))).toEqual(['w2@2000', 'w3@3000']);
      expect(ids(await store.readSequence('u1', { asOfMs: 10_000, limit: 10 }))).toEqual(['w1@1000', 'w2@2000', 'w3@3000', 'w4@4000', 'w5@5000']);
      expect(await store.readSequence('u1', { asOfMs: 999, limit: 3 })).toEqual([]);
      expect((await store.readSequences(['u2', 'nobody', 'u1'], { asOfMs: 5000, limit: 1 })).map(ids)).toEqual([['v1@1000'], [], ['w5@5000']]);
      // Only sequence types: the impression at 3500 never comes back.
      expect(ids(await store.readSequence('u1', { asOfMs: 3600, limit: 5 }))).toEqual(['w1@1000', 'w2@2000', 'w3@3000']);
    });

    it('reads many users in request order', async () => {
      await store.append([rec('u1', 'a', 1000), rec('u2', 'b', 2000), rec('u2', 'c', 3000)]);
      const got = await store.readSequences(['u2', 'zz', 'u1']);
      expect(got.map(ids)).toEqual([['b@2000', 'c@3000'], [], ['a@1000']]);
    });

    it('deletes one user and nothing else; a deleted action id can be stored again', async () => {
      await store.append([rec('u1', 'a', 1000), rec('u1', 'b', 2000), rec('u2', 'c', 3000)]);
      expect(await store.deleteUser('u1')).toBe(2);
      expect(await store.readSequence('u1')).toEqual([]);
      expect(ids(await store.readSequence('u2'))).toEqual(['c@3000']);
      expect(await store.deleteUser('u1')).toBe(0);
      expect(await store.append([rec('u1', 'a', 1000)])).toEqual(['accepted']);
    });

    if (reopen) {
      it('keeps acknowledged records across a reopen', async () => {
        await store.append([rec('u1', 'a', 1000), rec('u1', 'b', 2000)]);
        store = await reopen(store);
        expect(ids(await store.readSequence('u1'))).toEqual(['a@1000', 'b@2000']);
        expect(await store.append([rec('u1', 'a', 1000)])).toEqual(['duplicate']);
      });
    }
  });
}
