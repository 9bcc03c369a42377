import pino from 'pino';
import { RejectionLog } from './rejection-log';

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('RejectionLog', () => {
  it('logs the first rejection per model and status each interval and counts the ones it left out', () => {
    let now = 0;
    const log = new RejectionLog(1000, () => now);
    const { logger, lines } = capture();
    const r = (model: string, code: 'RESOURCE_EXHAUSTED' | 'INVALID_ARGUMENT') => log.record(logger, { model, version: '1', code, reason: 'queue full' });
    r('a', 'RESOURCE_EXHAUSTED');
    r('a', 'RESOURCE_EXHAUSTED');
    r('a', 'RESOURCE_EXHAUSTED');
    r('a', 'INVALID_ARGUMENT');
    r('b', 'RESOURCE_EXHAUSTED');
    now = 999;
    r('a', 'RESOURCE_EXHAUSTED');
    now = 1000;
    r('a', 'RESOURCE_EXHAUSTED');
    expect(lines.map((l) => [l['model'], l['code'], l['suppressed']])).toEqual([
      ['a', 'RESOURCE_EXHAUSTED', undefined],
      ['a', 'INVALID_ARGUMENT', undefined],
      ['b', 'RESOURCE_EXHAUSTED', undefined],
      ['a', 'RESOURCE_EXHAUSTED', 3],
    ]);
    expect(lines[0]).toMatchObject({ msg: 'inference request rejected', level: 40 });
  });

  it('shortens a long reason', () => {
    const { logger, lines } = capture();
    new RejectionLog().record(logger, { model: 'a', version: '1', code: 'INVALID_ARGUMENT', reason: 'x'.repeat(5000) });
    expect(String(lines[0]?.['reason']).length).toBeLessThanOrEqual(201);
  });
});
