import { RunSlots } from './run-slots';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RunSlots', () => {
  it('holds at most size at once and hands a released slot to the first waiter', async () => {
    const slots = new RunSlots(2);
    const never = new AbortController().signal;
    const a = await slots.acquire(never);
    const b = await slots.acquire(never);
    const order: string[] = [];
    const c = slots.acquire(never).then((release) => (order.push('c'), release));
    const d = slots.acquire(never).then((release) => (order.push('d'), release));
    await tick();
    expect(order).toEqual([]);
    expect([slots.inUse, slots.waiting]).toEqual([2, 2]);
    a();
    a(); // a second call of one release counts for nothing
    await tick();
    expect(order).toEqual(['c']);
    expect([slots.inUse, slots.waiting]).toEqual([2, 1]);
    b();
    (await c)();
    (await d)();
    expect([slots.inUse, slots.waiting]).toEqual([0, 0]);
  });

  it('lets a waiter give up when its signal aborts, holding nothing, and refuses an aborted signal at once', async () => {
    const slots = new RunSlots(1);
    const held = await slots.acquire(new AbortController().signal);
    const mine = new AbortController();
    const waiting = slots.acquire(mine.signal);
    const behind = slots.acquire(new AbortController().signal);
    mine.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringMatching(/waited for a slot/) });
    expect(slots.waiting).toBe(1);
    held();
    (await behind)();
    expect(slots.inUse).toBe(0);
    await expect(slots.acquire(mine.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(() => new RunSlots(0)).toThrow(TypeError);
  });
});
