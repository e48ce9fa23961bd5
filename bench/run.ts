/**
 * `npm run bench [-- --only core,agent --accounts 10000 --users 50 …]`: runs each benchmark module in
 * turn and prints its figures as a table and as one JSON document. A benchmark, not a test: nothing
 * here asserts a time.
 */
import { cpus } from 'node:os';
import { BenchModule, BenchOptions, BenchRow } from './harness';
import { agentBench } from './agent.bench';
import { arrivalBench } from './arrival.bench';
import { collectBench } from './collect.bench';
import { coreBench } from './core.bench';
import { digestBench } from './digest.bench';
import { incomingBench } from './incoming.bench';
import { ingestBench } from './ingest.bench';
import { scpBench } from './scp.bench';
import { privilegesBench } from './privileges.bench';

const MODULES: readonly BenchModule[] = [
  coreBench,
  agentBench,
  privilegesBench,
  digestBench,
  collectBench,
  arrivalBench,
  ingestBench,
  incomingBench,
  scpBench,
];

function parseArgs(argv: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`bench: unexpected argument '${arg}'`);
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[i + 1];
    if (inline === undefined) i++;
    if (value === undefined) throw new Error(`bench: --${key} needs a value`);
    args[key] = value;
  }
  return args;
}

function printTable(rows: readonly BenchRow[]): void {
  for (const row of rows) {
    process.stdout.write(`\n${row.name}\n`);
    const width = Math.max(...Object.keys(row.metrics).map((k) => k.length));
    for (const [key, value] of Object.entries(row.metrics)) {
      process.stdout.write(
        `  ${key.padEnd(width)}  ${typeof value === 'number' ? value.toLocaleString('en-US') : value}\n`,
      );
    }
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const options: BenchOptions = {
    args,
    int(name, fallback) {
      const raw = args[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`bench: --${name} must be a whole number, got '${raw}'`);
      return n;
    },
  };
  const only = args.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !MODULES.some((m) => m.name === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(
      `bench: unknown --only ${unknown.join(', ')} (have ${MODULES.map((m) => m.name).join(', ')})`,
    );
  const rows: BenchRow[] = [];
  for (const module of MODULES) {
    if (only && !only.includes(module.name)) continue;
    process.stderr.write(`bench: running ${module.name}…\n`);
    const moduleRows = await module.run(options);
    printTable(moduleRows);
    rows.push(...moduleRows);
    global.gc?.();
  }
  process.stdout.write(`\nJSON ${JSON.stringify({ node: process.version, cpus: cpus().length, rows })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
