// `npm run bench:smoke`: runs every benchmark of run.mjs with `--smoke` (tiny
// sizes), two at a time, and fails when one exits non-zero. A benchmark's smoke
// run checks that it completes with no error and no degraded answer; it asserts
// no timing. Part of `npm test` (the `bench` Nx project's test target), which
// also smokes a few with `--built` (bundled as deployed; run.mjs).
//   node tools/bench/smoke.mjs [name ...] [--built] [--parallel 2] [--timeout-s 150]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { BENCHES, benchCommand, root } from './run.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { parallel: { type: 'string', default: '2' }, 'timeout-s': { type: 'string', default: '150' }, built: { type: 'boolean', default: false } },
});
const names = positionals.length > 0 ? positionals : Object.keys(BENCHES);
for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark "${n}"; known: ${Object.keys(BENCHES).join(', ')}`);
const PARALLEL = Number(values.parallel);
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;

/** Runs one benchmark's smoke; resolves with its outcome (rejects only when its bundle fails to build). */
async function smoke(name) {
  const [cmd, args, env] = await benchCommand(BENCHES[name][0], ['--smoke', ...(values.built ? ['--built'] : [])]);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env }, detached: true });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timedOut = false;
    // The bench's own process group: its servers and workers go with it.
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGTERM');
        setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000).unref();
      } catch {
        // already gone
      }
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ name, ok: code === 0 && !timedOut, code: timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : (code ?? signal), seconds: (performance.now() - started) / 1000, output });
    });
  });
}

const queue = [...names];
const results = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await smoke(name);
      results.push(r);
      process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${(values.built ? `${name} (built)` : name).padEnd(24)} ${r.seconds.toFixed(1)} s${r.ok ? '' : ` (${r.code})`}\n`);
      if (!r.ok) process.stdout.write(`---- ${name} output (last 4000 characters) ----\n${r.output.slice(-4000)}\n----\n`);
    }
  }),
);
const failed = results.filter((r) => !r.ok);
process.stdout.write(`bench smoke: ${results.length - failed.length}/${results.length} passed in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
process.exit(failed.length > 0 ? 1 : 0);
