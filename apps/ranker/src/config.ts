import { resolve } from 'node:path';
import { readConfig, serverVars, vars, type ConfigOf } from '@pinrank/service-kit';

/** What a ranker process serves: the public Ranker API, or an inference worker on GPU or CPU. */
export type RankerRole = 'router' | 'gpu' | 'cpu';

/** Default gRPC ports by role; /metrics listens 1000 above. */
export const RANKER_PORTS: Readonly<Record<RankerRole, number>> = { router: 50050, gpu: 50061, cpu: 50062 };

const roleVar = vars.oneOf('RANKER_ROLE', ['router', 'gpu', 'cpu'] as const, 'router');

/** The ranker's configuration variables for a role (each also a --kebab-case flag). */
export function rankerVars(role: RankerRole) {
  const port = RANKER_PORTS[role];
  return {
    role: roleVar,
    ...serverVars('RANKER', { address: `127.0.0.1:${port}`, metricsAddress: `127.0.0.1:${port + 1000}` }),
  };
}

/** The ranker's validated configuration. */
export type RankerConfig = ConfigOf<ReturnType<typeof rankerVars>> & { protoRoot: string };

/** Reads and validates the configuration at the app's edge; throws ConfigError naming each bad variable. */
export function readRankerConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): RankerConfig {
  // The role picks the default ports, so it is read first.
  const { role } = readConfig({ role: roleVar }, env, argv);
  const c = readConfig(rankerVars(role), env, argv);
  // src/ (tsx) and dist/apps/<app>/ (bundle) are both three levels below the repository root.
  return { ...c, protoRoot: c.protoDir ?? resolve(__dirname, '../../../proto') };
}
