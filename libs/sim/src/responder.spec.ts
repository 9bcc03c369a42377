import { ACTION } from './affinity';
import { Responder } from './responder';
import { World } from './world';

describe('Responder', () => {
  const world = World.create({ seed: 8, users: 50, items: 2000, days: 10 });
  const tl = world.timeline(3);
  const session = tl.sessions[0]!;
  const intentItems = [...Array(world.options.items).keys()]
    .filter((i) => world.items.primaryTopic[i] === session.intentTopics[0])
    .map((i) => `i${i}`);
  const otherItems = [...Array(world.options.items).keys()]
    .filter((i) => {
      const t = world.items.primaryTopic[i] as number;
      return t !== session.intentTopics[0] && t !== session.intentTopics[1] && !tl.profile.topics.includes(t);
    })
    .map((i) => `i${i}`);

  it('gives the same reactions to the same request and salt', () => {
    const req = { userId: 'u3', timeMs: session.startMs, itemIds: intentItems.slice(0, 30) };
    const a = new Responder(world).respond(req);
    expect(new Responder(world).respond(req)).toEqual(a);
    expect(a).toHaveLength(30);
    expect(a[1]!.timestampMs - a[0]!.timestampMs).toBe(world.options.impressionGapS * 1000);
    const salted = new Responder(world, { salt: 1 }).respond(req);
    expect(salted.map((r) => r.actionType)).not.toEqual(a.map((r) => r.actionType));
  });

  it('saves intent items far more often than off-interest items, and hides the latter more', () => {
    const responder = new Responder(world);
    const rate = (items: string[], type: number): number => {
      let hits = 0;
      let n = 0;
      for (let rep = 0; rep < 20; rep++) {
        const reactions = responder.respond({ userId: 'u3', timeMs: session.startMs + rep, itemIds: items.slice(0, 50) });
        for (const r of reactions) {
          n++;
          if (r.actionType === type) hits++;
        }
      }
      return hits / n;
    };
    expect(rate(intentItems, ACTION.SAVE)).toBeGreaterThan(3 * rate(otherItems, ACTION.SAVE) + 0.02);
    expect(rate(otherItems, ACTION.HIDE)).toBeGreaterThan(rate(intentItems, ACTION.HIDE));
  });

  it('matches the ground-truth save probability on average', () => {
    const responder = new Responder(world, { scrollGapS: 0 });
    let expected = 0;
    let saves = 0;
    for (let rep = 0; rep < 200; rep++) {
      for (const r of responder.respond({ userId: 'u3', timeMs: session.startMs + rep, itemIds: intentItems.slice(0, 20) })) {
        expected += r.saveProbability;
        if (r.actionType === ACTION.SAVE) saves++;
      }
    }
    expect(saves / expected).toBeGreaterThan(0.9);
    expect(saves / expected).toBeLessThan(1.1);
  });

  it('rejects unknown ids and bad options', () => {
    expect(() => new Responder(world).respond({ userId: 'u50', timeMs: 0, itemIds: [] })).toThrow(RangeError);
    expect(() => new Responder(world).respond({ userId: 'u1', timeMs: 0, itemIds: ['i2000'] })).toThrow(RangeError);
    expect(() => new Responder(world, { salt: -1 })).toThrow(RangeError);
  });
});
