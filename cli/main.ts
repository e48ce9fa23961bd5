#!/usr/bin/env node
import { Command, CommandIo, EXIT, UsageError } from './command';
import { collectCommand } from './commands/collect';
import { demoCommand } from './commands/demo';
import { fetchCommand } from './commands/fetch';
import { mergeCommand } from './commands/merge';
import { runCommand } from './commands/run';

export const COMMANDS: readonly Command[] = [
  mergeCommand,
  demoCommand,
  collectCommand,
  fetchCommand,
  runCommand,
];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'credreport: every IAM user and access key across an AWS Organization, with CIS-mapped findings.',
    '',
    'Usage: credreport <command> [options]    (credreport <command> --help for its options)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Exit status: ${EXIT.ok} ok, ${EXIT.error} error, ${EXIT.usage} usage error, ${EXIT.incomplete} written but coverage incomplete.`,
    '',
  ].join('\n');
}

/** Dispatches `argv` (without node and script) to a command; resolves to the exit status. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`credreport: unknown command '${name}'\n\n${topHelp()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`credreport ${name}: ${error.message}\nRun 'credreport ${name} --help' for usage.\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`credreport ${name}: ${message}\n`);
    return EXIT.error;
  }
}

if (require.main === module) {
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
