// `@pinrank/sim/internal`: action-log and manifest plumbing (the log's magic, header
// parsing, a world's log header and the world rebuilt from one), off the front page
// (src/index.ts) that tools use.
export { actionLogHeaderOf } from './generate';
export { SIM_PRODUCER, worldFromLogHeader } from './manifest';
export { ACTION_LOG_MAGIC, parseActionLogHeader } from './action-log/format';
