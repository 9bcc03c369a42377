import { freePorts } from '@pinrank/service-kit';
import { stackPortsInUse } from '../../src/stack/local-stack';
import { portsTaken } from '../../src/stack/port-check';

/** A router port for `pinrank start --port` whose stack ports (each service's gRPC and metrics port) are all free right now. */
export async function freeStackBase(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const [candidate] = await freePorts(1);
    const base = Math.min(candidate as number, 60_000);
    if ((await portsTaken('127.0.0.1', stackPortsInUse(base))).length === 0) return base;
  }
  throw new Error('no free block of ports for the stack');
}
