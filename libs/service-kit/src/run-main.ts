import { TelemetryConfigError } from '@pinrank/telemetry';
import { ConfigError } from './config';

/**
 * Runs an app's async entry point: a ConfigError (or TelemetryConfigError) prints its problems and exits
 * with status 2; any other start-up failure prints it and exits with status 1.
 */
export function runMain(main: () => Promise<void>, write: (line: string) => void = (l) => process.stderr.write(l)): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof TelemetryConfigError) {
      write(`${err.message}\n`);
      process.exit(2);
      return;
    }
    write(`start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
