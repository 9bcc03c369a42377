/** Where commands write: the process streams in production, buffers in tests. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Whether standard error is a terminal (progress bars are drawn only then). */
  readonly errIsTty: boolean;
}

/** The process's own streams. */
export const PROCESS_IO: CliIo = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
  get errIsTty() {
    return process.stderr.isTTY === true;
  },
};
