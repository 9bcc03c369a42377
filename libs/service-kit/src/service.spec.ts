import { FeatureServerService, RealtimeSequence } from '@pinrank/proto';
import { outgoingDeadline } from './client';
import { type CallContext } from './context';
import { defineService } from './service';
import { withServerDefaults } from './server-options';

describe('defineService', () => {
  it('names the service from the method paths and records admin methods', () => {
    const reg = defineService(FeatureServerService, {}, { adminMethods: ['deleteUser'] });
    expect(reg.serviceName).toBe('pinrank.v1.FeatureServer');
    expect([...reg.adminMethods]).toEqual(['deleteUser']);
    expect(reg.unimplementedMessage('/pinrank.v1.FeatureServer/DeleteUser')).toBe('pinrank.v1.FeatureServer/DeleteUser is not implemented yet');
  });

  it('refuses unknown method names at once', () => {
    expect(() => defineService(FeatureServerService, { nope: async () => ({}) } as never)).toThrow(/no method "nope"/);
    expect(() => defineService(FeatureServerService, {}, { adminMethods: ['dropAll' as never] })).toThrow(/unknown method "dropAll"/);
  });

  it('types handlers by the method shape (checked by tsc) and registers the given ones', () => {
    const reg = defineService(FeatureServerService, {
      getRealtimeSequence: async (req) => RealtimeSequence.fromPartial({ userId: req.userId }),
      // @ts-expect-error -- a unary handler must return the response message, not a string
      getRealtimeSequences: async () => 'wrong',
    });
    expect(reg.serviceName).toBe('pinrank.v1.FeatureServer');
    expect(reg.unimplementedMessage('/pinrank.v1.FeatureServer/DeleteUser')).toMatch(/DeleteUser is not implemented yet/);
  });
});

describe('withServerDefaults', () => {
  const base = { name: 's', address: '127.0.0.1:0', services: [] };

  it('fills documented defaults', () => {
    expect(withServerDefaults(base)).toMatchObject({
      maxReceiveMessageBytes: 64 * 1024 * 1024,
      maxConnectionAgeMs: 300_000,
      shutdownTimeoutMs: 15_000,
      drainDelayMs: 0,
      signals: ['SIGTERM', 'SIGINT'],
    });
  });

  it('refuses bad and conflicting options', () => {
    expect(() => withServerDefaults({ ...base, address: 'nope' })).toThrow(/is not host:port/);
    expect(() => withServerDefaults({ ...base, shutdownTimeoutMs: -1 })).toThrow(/shutdownTimeoutMs/);
    expect(() => withServerDefaults({ ...base, admin: { allowedIdentities: ['x'] } })).toThrow(/needs mutual TLS/);
    const reg = defineService(FeatureServerService, {});
    expect(() => withServerDefaults({ ...base, services: [reg, reg] })).toThrow(/registered twice/);
  });
});

describe('outgoingDeadline', () => {
  it('takes the earlier of the own timeout and the incoming deadline', () => {
    const now = Date.now();
    const parent = { deadline: new Date(now + 1_000) } as CallContext;
    expect(outgoingDeadline(parent, 5_000)?.getTime()).toBe(now + 1_000);
    expect(outgoingDeadline(parent, 10)!.getTime()).toBeLessThan(now + 1_000);
    expect(outgoingDeadline(undefined, undefined)).toBeUndefined();
  });
});
