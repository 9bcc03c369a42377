import { freePorts, reservePorts } from '@pinrank/service-kit';
import { stackPortsInUse } from '../../src/stack/local-stack';
import { portsTaken } from '../../src/stack/port-check';

/**
 * A router port for `pinrank start --port` whose stack ports (each service's gRPC and metrics
 * port) are all free right now, and reserved against other test processes choosing ports
 * (`reservePorts`) until the stack has bound them.
 */
export async function freeStackBase(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const [candidate] = await freePorts(1);
    const base = Math.min(candidate as number, 60_000);
    const block = stackPortsInUse(base);
    if ((await portsTaken('127.0.0.1', block)).length === 0 && reservePorts(block.map((p) => p.port))) return base;
  }
  throw new Error('no free block of ports for the stack');
}
