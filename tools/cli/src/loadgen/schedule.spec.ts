import { OpenLoopSchedule } from './schedule';

describe('OpenLoopSchedule', () => {
  it('spaces requests 1000/qps ms apart from the start', () => {
    const s = new OpenLoopSchedule(100, 4);
    expect([0, 1, 2, 3].map((n) => s.dueAt(n))).toEqual([100, 350, 600, 850]);
  });

  it('counts requests due by a time, including one due exactly then', () => {
    const s = new OpenLoopSchedule(0, 3);
    expect(s.dueBy(-1)).toBe(0);
    expect(s.dueBy(0)).toBe(1);
    expect(s.dueBy(333)).toBe(1);
    expect(s.dueBy(1000 / 3)).toBe(2);
    expect(s.dueBy(1000)).toBe(4);
  });

  it('counts the requests strictly before an end time', () => {
    const s = new OpenLoopSchedule(0, 10);
    expect(s.countBefore(1000)).toBe(10);
    expect(s.countBefore(1001)).toBe(11);
    expect(s.countBefore(0)).toBe(0);
    expect(s.countBefore(Infinity)).toBe(Infinity);
  });

  it('rejects a qps that is not positive', () => {
    expect(() => new OpenLoopSchedule(0, 0)).toThrow(RangeError);
    expect(() => new OpenLoopSchedule(0, Number.NaN)).toThrow(RangeError);
  });
});
