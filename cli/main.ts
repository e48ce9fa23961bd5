#!/usr/bin/env node
// First, before any AWS SDK module loads: the SDK's Node version warning off (cli/sdk-env.ts).
import './sdk-env';
import { version } from '../package.json';
import { Command, CommandIo, EXIT, EXIT_HELP, UsageError } from './command';
import { collectCommand } from './commands/collect';
import { demoCommand } from './commands/demo';
import { fetchCommand } from './commands/fetch';
import { mergeCommand } from './commands/merge';
import { runCommand } from './commands/run';
import { installInterruptHandlers } from './interrupt';

export const COMMANDS: readonly Command[] = [
  mergeCommand,
  demoCommand,
  collectCommand,
  fetchCommand,
  runCommand,
];

/** The version of this build, from package.json (bundled into dist/credreport.js by esbuild). */
export const VERSION: string = version;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'credreport: every IAM user and access key across an AWS Organization, with',
    'CIS-mapped findings.',
    '',
    'Usage: credreport <command> [options]',
    '       credreport help <command>    (or credreport <command> --help)',
    '       credreport --version',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json, --quiet (-q) and --verbose (-v).',
    EXIT_HELP,
    '',
  ].join('\n');
}

/** Dispatches `argv` (without node and script) to a command; resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(topHelp());
    return EXIT.usage;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`credreport ${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout.write(topHelp());
    return EXIT.ok;
  }
  if (name === 'help') {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    if (!topic || rest.length > 1) {
      io.stderr.write(`credreport help: no command '${rest.join(' ')}'\n\n${topHelp()}`);
      return EXIT.usage;
    }
    io.stdout.write(helpOf(topic));
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`credreport: unknown command '${name}'\n\n${topHelp()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(helpOf(command));
    return EXIT.ok;
  }
  if (rest.includes('--version') || rest.includes('-V')) {
    io.stdout.write(`credreport ${VERSION}\n`);
    return EXIT.ok;
  }
  // With --json a failure is a JSON result too, so a script reading stdout always gets one.
  const json = rest.includes('--json');
  const failure = (status: number, message: string): number => {
    if (json) io.stdout.write(`${JSON.stringify({ command: name, exitStatus: status, error: message })}\n`);
    return status;
  };
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`credreport ${name}: ${error.message}\nRun 'credreport ${name} --help' for usage.\n`);
      return failure(EXIT.usage, error.message);
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`credreport ${name}: ${message}\n`);
    return failure(EXIT.error, message);
  }
}

function helpOf(command: Command): string {
  return command.help.endsWith('\n') ? command.help : `${command.help}\n`;
}

if (require.main === module) {
  installInterruptHandlers(process.stderr, process.cwd());
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  })
    .then((code) => {
      process.exitCode = code;
    })
    .catch((error: unknown) => {
      process.stderr.write(`credreport: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = EXIT.error;
    });
}
