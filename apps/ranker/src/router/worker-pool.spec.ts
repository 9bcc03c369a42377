import { poolSource } from './worker-pool';

describe('poolSource', () => {
  it('reads a host:port list as a static source and one dns:/// name as a resolved one', () => {
    expect(poolSource(['10.0.0.1:50061', '10.0.0.2:50061'])).toEqual({ kind: 'static', addresses: ['10.0.0.1:50061', '10.0.0.2:50061'] });
    expect(poolSource(['dns:///ranker-gpu.pinrank.svc:50061'])).toEqual({ kind: 'dns', host: 'ranker-gpu.pinrank.svc', port: 50061 });
  });

  it('refuses a dns name mixed with addresses, or without a port', () => {
    expect(() => poolSource(['dns:///gpu:50061', '10.0.0.1:50061'])).toThrow(/either host:port entries or one dns:\/\/\/name:port/);
    expect(() => poolSource(['dns:///gpu'])).toThrow(TypeError);
  });
});
