export { createProgram, main } from './cli';
export { COMMANDS, registerCommands, type CommandRegistration } from './commands';
export { PROCESS_IO, type CliIo } from './io';
