/** Exit statuses of `credreport` (documented in the README and in `--help`). */
export const EXIT = {
  ok: 0,
  /** Nothing useful was produced: bad arguments aside, a total failure. */
  error: 1,
  /** The command line is wrong. */
  usage: 2,
  /** Outputs were written but coverage is incomplete (an account failed, a file was malformed). */
  incomplete: 3,
  /** Outputs were written and open findings at or above `--fail-on` exist (this wins over `incomplete`). */
  findings: 4,
  /** Stopped by SIGINT (128 + 2): temporary files removed, previous outputs kept. */
  sigint: 130,
  /** Stopped by SIGTERM (128 + 15): as for SIGINT. */
  sigterm: 143,
} as const;

/** The exit statuses as the help texts and the README list them. */
export const EXIT_HELP = [
  `Exit status: ${EXIT.ok} ok; ${EXIT.error} error, nothing written; ${EXIT.usage} usage error; ${EXIT.incomplete} outputs`,
  `written but coverage incomplete; ${EXIT.findings} open findings at or above --fail-on;`,
  `${EXIT.sigint} interrupted (SIGINT), ${EXIT.sigterm} terminated (SIGTERM).`,
].join('\n');

/** Where a command writes; injected so tests capture it. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** One `credreport <name>` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `credreport --help`. */
  readonly summary: string;
  /** Full `credreport <name> --help` text. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit status. */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** Thrown for a wrong command line; main prints it with the command's help hint and exits EXIT.usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The exit status of a command that wrote outputs, from the one coverage verdict (core/coverage.ts,
 * docs/ARCHITECTURE.md §12): `merge`, `collect` and `run` all use it, so the same coverage exits the same way.
 */
export function exitStatusFor(verdict: { readonly complete: boolean }): number {
  return verdict.complete ? EXIT.ok : EXIT.incomplete;
}
