/**
 * The one run pipeline (docs/ARCHITECTURE.md §2 data flow, §6 outputs): a stream of account reports and problems,
 * the organization metadata and the previous run in; credential-report.csv, access-keys.csv, summary.json
 * and digest.html out through the caller's sinks, plus the coverage verdict (§12). The digest Lambda
 * (S3 sinks), `credreport collect` and `credreport merge` (file sinks) all run through here, so the four
 * outputs are written by one code path whatever the source and destination.
 *
 * Problems travel in the stream as values, beside the reports, in whatever order the source finds them;
 * no caller shares a mutable list with the run. Adapters whose source reports problems through a callback
 * turn them into items with {@link withProblems}.
 */
import { coverageVerdict, CoverageVerdict } from './coverage';
import { MergeInput, MergeResult, MergeSinks, runMerge } from './merge';
import type { AccountReport, ReportProblem } from './types';

/** One element of a run's input stream. */
export type RunItem =
  | { readonly kind: 'report'; readonly report: AccountReport }
  /** An account whose report could not be used (or only partly): a coverage entry with its reason. */
  | { readonly kind: 'problem'; readonly problem: ReportProblem }
  /** A problem that names no account (e.g. an input file without an account id): coverage is incomplete. */
  | { readonly kind: 'unattributed'; readonly detail: string };

export interface RunInput extends Omit<MergeInput, 'reports' | 'problems' | 'unattributed'> {
  /**
   * Reports and problems, in any order; the reports are written per runMerge's ordering rules (an array
   * is sorted up front, a stream goes through the reorder window: see core/merge.ts).
   */
  readonly items: AsyncIterable<RunItem> | Iterable<RunItem>;
}

/** Where the seven outputs go. The CSV streams are ended by the run; the other two are called once each. */
export interface RunSinks extends MergeSinks {
  /** findings.csv (optional to runMerge alone; every run writes it). */
  readonly findings: NodeJS.WritableStream;
  /** findings.ocsf.json (core/ocsf.ts; optional to runMerge alone; every run writes it). */
  readonly ocsf: NodeJS.WritableStream;
  /** state.json.gz, the run state the next run reads (core/run-state.ts). */
  readonly state: NodeJS.WritableStream;
  /** summary.json's text; called after both CSVs have finished (a previous-run reader relies on that order). */
  readonly summary: (json: string) => Promise<void>;
  /** digest.html; called with `summary`, after both CSVs have finished. */
  readonly digest: (html: string) => Promise<void>;
}

export interface RunResult extends MergeResult {
  /** The coverage verdict (core/coverage.ts) the exit status and the digest result derive from. */
  readonly verdict: CoverageVerdict;
}

/** summary.json's text, exactly as every sink receives it. */
export function formatSummaryJson(summary: MergeResult['summary']): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

/**
 * Runs the pipeline: streams both CSVs into the sinks, then hands summary.json and digest.html to theirs.
 * Throws when the input stream or a sink fails (the CSV sinks are aborted then); one account's problem
 * never throws, it is a coverage entry.
 */
export async function runPipeline(input: RunInput, sinks: RunSinks): Promise<RunResult> {
  const { items, ...rest } = input;
  const problems: ReportProblem[] = [];
  const unattributed: string[] = [];
  const take = (item: RunItem): AccountReport | undefined => {
    if (item.kind === 'report') return item.report;
    if (item.kind === 'problem') problems.push(item.problem);
    else unattributed.push(item.detail);
    return undefined;
  };
  let reports: MergeInput['reports'];
  if (Array.isArray(items)) {
    // In memory already: keep it an array, so runMerge sorts it up front instead of windowing it.
    reports = (items as readonly RunItem[]).flatMap((item) => {
      const report = take(item);
      return report ? [report] : [];
    });
  } else {
    reports = (async function* () {
      for await (const item of items as AsyncIterable<RunItem>) {
        const report = take(item);
        if (report) yield report;
      }
    })();
  }
  // runMerge reads `problems` and `unattributed` only after the last report (core/merge.ts), so those
  // found while the stream runs are all included.
  const merged = await runMerge({ ...rest, reports, problems, unattributed }, sinks);
  await Promise.all([sinks.summary(formatSummaryJson(merged.summary)), sinks.digest(merged.html)]);
  return { ...merged, verdict: coverageVerdict(merged.summary.coverage) };
}

/**
 * Adapts a report source that reports problems through a callback (a store reader, the org collector) to
 * a stream of items: problems found while a report was being produced come out before that report, the
 * rest after the last one. Stopping the stream stops the source.
 */
export async function* withProblems(
  produce: (onProblem: (problem: ReportProblem) => void) => AsyncIterable<AccountReport>,
): AsyncGenerator<RunItem, void, undefined> {
  const pending: ReportProblem[] = [];
  for await (const report of produce((problem) => pending.push(problem))) {
    while (pending.length > 0) yield { kind: 'problem', problem: pending.shift() as ReportProblem };
    yield { kind: 'report', report };
  }
  while (pending.length > 0) yield { kind: 'problem', problem: pending.shift() as ReportProblem };
}
