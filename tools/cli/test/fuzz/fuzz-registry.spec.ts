import { join } from 'node:path';
import { FUZZ_TARGETS, registryProblems } from './fuzz-registry';
import { ProtoSchema } from './proto-schema';

describe('fuzz registry', () => {
  it('lists every service and method of @pinrank/proto (a new RPC fails here until it is registered)', () => {
    expect(registryProblems()).toEqual([]);
  });

  it('finds the request schema of every registered method in proto/ (reflection aside)', () => {
    const schema = new ProtoSchema(join(__dirname, '..', '..', '..', '..', 'proto'));
    for (const t of FUZZ_TARGETS.filter((x) => x.service !== 'grpc.reflection')) {
      for (const m of t.methods) expect(schema.requestType(m.path).fields).toBeDefined();
    }
  });
});
