/**
 * The one end of run of `merge`, `collect` and `demo`: the same summary (accounts, findings by severity,
 * coverage, where the files are) on stdout, each coverage problem once on stderr, the `--json` result,
 * and the exit status from the coverage verdict and `--fail-on`.
 */
import { basename, dirname, relative } from 'node:path';
import type { CoverageVerdict } from '../core/coverage';
import {
  coverageLine,
  exemptionsLine,
  exemptionsProblemLine,
  organizationComplianceRows,
  organizationLine,
  plural,
} from '../core/digest-model';
import { findingsTextTable, textTable } from '../core/digest-text';
import { SEVERITIES, Severity, severityRank } from '../core/finding-ids';
import { describeCoverageEntry, Summary } from '../core/summary';
import type { OutputMode } from './args';
import { CommandIo, EXIT, exitStatusFor } from './command';

/** Summary warnings repeated on stderr without `--verbose` (all of them are in summary.json). */
const WARNINGS_SHOWN = 20;

export interface EndOfRun {
  readonly command: 'merge' | 'collect' | 'demo';
  readonly summary: Summary;
  readonly verdict: CoverageVerdict;
  /** Every file written, absolute. */
  readonly files: readonly string[];
  readonly mode: OutputMode;
  readonly failOn?: Severity;
  /** The first words of the headline: `Merged`, `Collected`, `Sample organization:`. */
  readonly headline: string;
  /**
   * Coverage gaps are part of the input (demo's sample): listed with the summary rather than on stderr,
   * and they do not change the exit status.
   */
  readonly gapsIntended?: boolean;
  /** Accounts whose problem was printed in full as it happened (collect): not printed again. */
  readonly printed?: ReadonlySet<string>;
  /** The input file of an account, named beside its problem (merge). */
  readonly fileOf?: (accountId: string) => string | undefined;
  /** Problems of inputs that name no account, one line each (merge). */
  readonly unattributed?: readonly string[];
  /** Summary warnings not to repeat (they are already among `unattributed`). */
  readonly skipWarnings?: ReadonlySet<string>;
  /** Lines only `--verbose` prints (API call counts). */
  readonly verboseLines?: readonly string[];
  /** Extra fields of the `--json` result (collect's API call counts). */
  readonly jsonExtra?: Readonly<Record<string, unknown>>;
}

/** Paths inside the working directory relative to it, others as they are (absolute). */
export function shownPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** Open findings (rows of findings.csv) at `severity` or above, from the summary's own counts. */
export function openFindingsAtOrAbove(summary: Summary, severity: Severity): number {
  return SEVERITIES.filter((s) => severityRank(s) <= severityRank(severity)).reduce(
    (sum, s) => sum + (summary.totals.openFindings[s] ?? 0),
    0,
  );
}

/** `5 of 7 expected accounts` (or `9 accounts (7 expected)` when accounts outside the expected set report). */
export function accountsPhrase(accounts: number, expected: number): string {
  return accounts <= expected
    ? `${accounts.toLocaleString('en-US')} of ${plural(expected, 'expected account')}`
    : `${plural(accounts, 'account')} (${expected.toLocaleString('en-US')} expected)`;
}

/** The stdout lines of the end summary. */
export function endSummaryText(end: EndOfRun, cwd: string): string {
  const { summary } = end;
  const t = summary.totals;
  const open = SEVERITIES.map((s) => `${(t.openFindings[s] ?? 0).toLocaleString('en-US')} ${s}`);
  const dirs = [...new Set(end.files.map((f) => dirname(f)))];
  const where =
    dirs.length === 1 && dirs[0] !== undefined
      ? `${plural(end.files.length, 'file')} to ${shownPath(cwd, dirs[0])}/: ${end.files.map((f) => basename(f)).join(', ')}`
      : end.files.map((f) => shownPath(cwd, f)).join(', ');
  const lines = [
    `${end.headline} ${accountsPhrase(t.accounts, summary.coverage.expected)}: ${plural(t.users, 'user')}, ` +
      `${plural(t.accessKeys, 'access key')} (${t.activeAccessKeys.toLocaleString('en-US')} active), ` +
      `${plural(t.usersWithFindings, 'user')} with findings.`,
    `Open findings: ${open.join(', ')}.`,
    ...findingsTextTable(summary)
      .split('\n')
      .map((line) => `  ${line}`),
    ...organizationFindingsTable(summary),
    `Coverage ${summary.coverage.complete ? 'complete' : 'INCOMPLETE'}: ${coverageLine(summary)}.`,
    ...[organizationLine(summary), exemptionsProblemLine(summary), exemptionsLine(summary)].flatMap((line) =>
      line ? [`${line}.`] : [],
    ),
    `Wrote ${where}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The organization findings under the per-finding table (open counts included in `Open findings`, so in
 * `--fail-on` too); nothing when centralized root access was never read.
 */
function organizationFindingsTable(summary: Summary): string[] {
  const rows = organizationComplianceRows(summary);
  if (rows.length === 0) return [];
  return textTable(
    rows.map((r) => [r.id, r.cis ?? '-', String(r.open), r.verdict]),
    ['organization finding', 'CIS', 'open', 'organization'],
    [2],
  )
    .split('\n')
    .map((line) => `  ${line}`);
}

/** One line per coverage problem not printed already, and per input naming no account. */
export function problemLines(end: EndOfRun, cwd: string): string[] {
  const lines = end.summary.coverage.entries
    .filter((e) => !end.printed?.has(e.accountId))
    .map((e) => {
      const file = end.fileOf?.(e.accountId);
      return `  ${describeCoverageEntry(e)}${file ? ` [${shownPath(cwd, file)}]` : ''}`;
    });
  for (const line of end.unattributed ?? []) lines.push(`  ${line}`);
  return lines;
}

/**
 * Prints the end of a run and returns its exit status: {@link EXIT.findings} when `--fail-on` finds open
 * findings at or above its severity, else the coverage verdict's (demo: ok, its gaps are intended).
 */
export function finishRun(io: CommandIo, end: EndOfRun): number {
  const { mode, summary, command } = end;
  const prefix = `credreport ${command}`;
  const failCount = end.failOn !== undefined ? openFindingsAtOrAbove(summary, end.failOn) : 0;
  const coverageStatus = end.gapsIntended ? EXIT.ok : exitStatusFor(end.verdict);
  const status = failCount > 0 ? EXIT.findings : coverageStatus;

  // --json: the result alone on stdout, the human summary on stderr.
  const human = mode.json ? io.stderr : io.stdout;
  if (!mode.quiet) human.write(endSummaryText(end, io.cwd));
  if (mode.verbose) for (const line of end.verboseLines ?? []) io.stderr.write(`${prefix}: ${line}\n`);

  const problems = problemLines(end, io.cwd);
  if (end.gapsIntended) {
    // The sample's gaps are part of its summary, not problems of this run: listed with it.
    if (problems.length > 0 && !mode.quiet) {
      human.write(
        `Coverage gaps of the sample (intended, exit status ${EXIT.ok}):\n${problems.join('\n')}\n`,
      );
    }
  } else if (problems.length > 0) {
    const already = end.printed?.size
      ? ` (and ${plural(end.printed.size, 'failed account')} printed above)`
      : '';
    io.stderr.write(`${prefix}: coverage problems${already}:\n${problems.join('\n')}\n`);
  } else if (end.printed?.size) {
    io.stderr.write(
      `${prefix}: coverage problems: the ${plural(end.printed.size, 'failed account')} printed above\n`,
    );
  }
  const notes = summary.warnings.filter((w) => !end.skipWarnings?.has(w));
  if (notes.length > 0 && !mode.quiet) {
    const shown = (mode.verbose ? notes : notes.slice(0, WARNINGS_SHOWN)).map((w) => `  ${w}`);
    if (notes.length > shown.length)
      shown.push(`  … and ${notes.length - shown.length} more (--verbose, or summary.json)`);
    io.stderr.write(`${prefix}: warnings:\n${shown.join('\n')}\n`);
  }
  if (coverageStatus === EXIT.incomplete) {
    io.stderr.write(
      `${prefix}: outputs written, but coverage is incomplete (exit status ${EXIT.incomplete}` +
        `${failCount > 0 ? `, but --fail-on's ${EXIT.findings} comes first` : ''})\n`,
    );
  }
  if (failCount > 0) {
    io.stderr.write(
      `${prefix}: ${plural(failCount, 'open finding')} at or above ${end.failOn} (--fail-on ${end.failOn}): exit status ${EXIT.findings}\n`,
    );
  }

  if (mode.json) {
    const c = summary.coverage;
    const result = {
      command,
      exitStatus: status,
      files: end.files,
      totals: summary.totals,
      coverage: {
        complete: c.complete,
        expected: c.expected,
        reporting: c.reporting,
        missing: c.missing,
        stale: c.stale,
        unattributed: c.unattributed,
        problems: c.entries.map((e) => describeCoverageEntry(e)),
        ...(end.unattributed?.length ? { inputsNamingNoAccount: end.unattributed } : {}),
      },
      ...(end.failOn !== undefined ? { failOn: { severity: end.failOn, openFindings: failCount } } : {}),
      warnings: summary.warnings.length,
      ...end.jsonExtra,
    };
    io.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return status;
}
