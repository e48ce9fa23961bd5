/**
 * `credreport demo`: the whole core on the bundled sample organization, no AWS needed. Writes the same
 * four outputs as merge/collect and prints a short summary table.
 */
import { relative, resolve } from 'node:path';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { sampleOrganization } from '../../core/sample-org';
import type { Summary } from '../../core/summary';
import { FINDING_IDS } from '../../core/types';
import { parseCommandLine, parseDateOption } from '../args';
import { Command, CommandIo, EXIT } from '../command';
import { writeMergeOutputs } from './merge';

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  now: { type: 'string' },
} as const;

const HELP = `Usage: credreport demo [--out DIR] [--now TIME]

Runs credreport on a bundled sample organization (seven accounts in OUs, tagged, with a root access key,
console users without MFA, stale, unrotated and never-used keys, an admin key and a data-read key; one
stale, one malformed and one never-reporting account, so coverage shows its gaps) and writes
credential-report.csv, access-keys.csv, summary.json and digest.html.

Options:
  --out DIR, -o DIR  where to write (default ./out)
  --now TIME         ISO 8601 time the sample is generated around (default: now)
`;

function table(rows: readonly (readonly string[])[], numeric: readonly number[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, i) =>
            numeric.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
          )
          .join('  ')
          .trimEnd()}`,
    )
    .join('\n');
}

/** The short table `demo` prints: totals, findings by id, coverage. */
export function demoSummaryTable(summary: Summary): string {
  const t = summary.totals;
  const c = summary.coverage;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const lines = [
    table(
      [
        ['accounts', 'users', 'access keys', 'active keys', 'users with findings'],
        [fmt(t.accounts), fmt(t.users), fmt(t.accessKeys), fmt(t.activeAccessKeys), fmt(t.usersWithFindings)],
      ],
      [0, 1, 2, 3, 4],
    ),
    '',
    table(
      [
        ['finding', 'CIS', 'users', 'keys'],
        ...FINDING_IDS.map((id) => {
          const f = summary.findings[id];
          return [id, f.cis ?? '-', fmt(f.users), fmt(f.keys)];
        }),
      ],
      [2, 3],
    ),
    '',
    `  coverage: ${fmt(c.reporting)} of ${fmt(c.expected)} expected accounts reporting, ${fmt(c.stale)} stale, ${fmt(c.missing)} missing`,
    ...c.entries.map(
      (e) =>
        `    ${e.accountId} ${e.accountName ?? ''}: ${e.status}, ${e.reason ?? ''}${e.detail ? ` (${e.detail})` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

async function runDemo(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandLine(argv, OPTIONS);
  const now = values.now !== undefined ? parseDateOption('now', values.now) : new Date();
  const outDir = resolve(io.cwd, values.out ?? 'out');
  const org = sampleOrganization(now);
  const { result, paths } = await writeMergeOutputs(outDir, {
    now,
    thresholds: DEFAULT_THRESHOLDS,
    metadata: org.metadata,
    reports: org.reports,
    organizationLabel: `${org.metadata.organizationId ?? 'sample'} (sample organization)`,
  });
  const shown = Object.values(paths).map((p) => relative(io.cwd, p) || p);
  io.stdout.write(
    `credreport demo: sample organization as of ${now.toISOString()}\n\n${demoSummaryTable(result.summary)}\n` +
      `The coverage gaps above are part of the sample (a stale, a malformed and a never-reporting account).\n` +
      `Wrote ${shown.join(', ')}\n`,
  );
  return EXIT.ok;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run on a bundled sample organization and write the outputs to ./out',
  help: HELP,
  run: runDemo,
};
