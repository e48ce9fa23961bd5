/**
 * `credreport merge <dir|files…>`: merges local credential reports (raw AWS CSVs, or stored report JSON
 * such as accounts/<id>/latest.json from the hub bucket) into the five outputs, without AWS.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { ZodError } from 'zod';
import { detectReportAccountId } from '../../core/credential-report';
import { CredreportError } from '../../core/errors';
import { parseAccountReport } from '../../core/event-contract';
import { grantsOfReport } from '../../core/merge';
import type { RunInput, RunItem } from '../../core/run-pipeline';
import type { PreviousRun } from '../../core/delta';
import { parsePreviousSummary, PreviousSummary, readPreviousRun } from '../../core/previous-run';
import { readPreviousState } from '../../core/run-state';
import { ACCEPTED_SCHEMA_VERSIONS, S3_LAYOUT } from '../../core/names';
import { describeCoverageEntry } from '../../core/summary';
import { AccountReport, OrgMetadata, ReportProblem } from '../../core/types';
import {
  parseAccountIdsOption,
  parseCommandLine,
  parseDateOption,
  parseListOption,
  parseThresholdOptions,
  THRESHOLD_HELP,
  THRESHOLD_OPTIONS,
  CIS_VERSION_HELP,
  CIS_VERSION_OPTION,
  parseCisVersionOption,
  FAIL_ON_HELP,
  FAIL_ON_OPTION,
  OUTPUT_HELP,
  OUTPUT_OPTIONS,
  parseFailOnOption,
  parseOutputOptions,
} from '../args';
import { parseMetadataFile } from '../collect-org';
import { OWNER_HELP, OWNER_OPTIONS, ownerPartitionOf, parseOwnerOptions, writeOwnerDigests } from '../owners';
import { Command, CommandIo, EXIT, EXIT_HELP } from '../command';
import { finishRun, shownPath } from '../end-summary';
import { checkWritableDir, fsReason, OutputsRefusedError, writeRunOutputs } from '../outputs';
import { EXEMPTIONS_HELP, EXEMPTIONS_OPTIONS, readExemptionsOption } from '../exemptions-option';

/** An input path or a companion file (metadata, previous run) cannot be used at all. */
export class MergeInputError extends CredreportError {}

const OPTIONS = {
  metadata: { type: 'string' },
  out: { type: 'string', short: 'o' },
  now: { type: 'string' },
  'report-time': { type: 'string' },
  'tag-keys': { type: 'string' },
  'breakdown-tag': { type: 'string' },
  'expected-accounts': { type: 'string' },
  previous: { type: 'string' },
  label: { type: 'string' },
  ...EXEMPTIONS_OPTIONS,
  ...CIS_VERSION_OPTION,
  ...THRESHOLD_OPTIONS,
  ...FAIL_ON_OPTION,
  ...OUTPUT_OPTIONS,
  ...OWNER_OPTIONS,
} as const;

const HELP = `Usage: credreport merge <dir|file>... [options]

Merges credential reports of many accounts into one enriched, findings-annotated
report, locally. Inputs (files, or directories searched recursively):
  *.csv              a raw IAM credential report as AWS writes it (UTF-8); the
                     account id is the 12-digit number in the file name (e.g.
                     123456789012.csv), else read from the ARNs in it
  *.json, *.json.gz  a stored account report (accounts/<id>/latest.json from
                     the hub bucket, with the key inventory and privileges);
                     history/ folders and rejected.json are skipped when
                     searching directories

Options:
  --metadata FILE      organization metadata (from 'credreport collect
                       --metadata-out', or org/metadata.json of the hub
                       bucket): account names, OU paths, tags, and the
                       accounts expected to report (every ACTIVE one)
  --out DIR, -o DIR    where to write the outputs (default ./out)
  --now TIME           evaluate findings as of this ISO 8601 time, e.g.
                       2024-06-01T06:00:00Z or 2024-06-01 (a time without an
                       offset is UTC; default: the current time)
  --report-time TIME   generation time of raw CSV reports, which carry none
                       (default: --now)
  --tag-keys A,B       tag columns to write (default: every tag key in the
                       metadata)
  --breakdown-tag KEY  tag whose values summary.json and the digest break down
                       by (default Environment)
  --expected-accounts IDS
                       comma-separated account ids expected to report
                       (default: every ACTIVE account of --metadata, else
                       every account with a file)
  --previous DIR       a previous run's output folder (its state.json.gz, else
                       its CSVs): the summary gets what changed since, and
                       findings.csv when each finding was first seen
  --label TEXT         organization label for the digest title (default:
                       organization id)
${EXEMPTIONS_HELP}
${CIS_VERSION_HELP}
${THRESHOLD_HELP}
${FAIL_ON_HELP}
${OWNER_HELP}
${OUTPUT_HELP}

Writes credential-report.csv, access-keys.csv, findings.csv, state.json.gz,
summary.json and digest.html to --out, under temporary names renamed at the
end. When no input is a readable report, nothing is written (exit status 1).
Coverage is incomplete (exit status 3) for a malformed or unreadable file, a
stale report, an expected account without a report, or a file that names no
account: each gap is named on stderr and in summary.json, the same rule as
collect and run (summary.json's coverage.complete).
${EXIT_HELP}
`;

/** A report file found on disk, before reading it. */
export interface InputFile {
  readonly path: string;
  readonly kind: 'csv' | 'json' | 'json.gz';
  /** 12-digit id from the file name (or, failing that, the path) — used to order reading. */
  readonly hint?: string;
}

const ACCOUNT_IN_NAME = /(?<!\d)(\d{12})(?!\d)/;

function kindOf(path: string): InputFile['kind'] | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json.gz')) return 'json.gz';
  if (lower.endsWith('.json')) return 'json';
  return undefined;
}

/** An error's message (with its code when the message lacks it); works across realms, unlike instanceof. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return fsReason(error);
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    const { code, message } = error as { code?: unknown; message: string };
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}

async function walk(dir: string, out: InputFile[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // Older reports kept by the hub: the newest (latest.json) is what counts.
      if (entry.name === 'history' || entry.name.startsWith('.')) continue;
      await walk(path, out);
    } else if (entry.isFile()) {
      const kind = kindOf(entry.name);
      if (!kind || entry.name === basename(S3_LAYOUT.accountRejected('x'))) continue;
      // Our own outputs, if someone points merge at a folder that holds a previous run.
      if (Object.values(S3_LAYOUT.outputFiles).includes(entry.name as never)) continue;
      if (entry.name === basename(S3_LAYOUT.orgMetadata)) continue;
      out.push(fileOf(path, kind));
    }
  }
}

function fileOf(path: string, kind: InputFile['kind']): InputFile {
  const hint = ACCOUNT_IN_NAME.exec(basename(path))?.[1] ?? ACCOUNT_IN_NAME.exec(path)?.[1];
  return { path, kind, ...(hint ? { hint } : {}) };
}

/** Expands the positional inputs; throws MergeInputError for a path that does not exist or holds no reports. */
export async function findInputFiles(inputs: readonly string[], cwd: string): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const input of inputs) {
    const path = resolve(cwd, input);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new MergeInputError(`input ${input}: ${describe(error)}`, { cause: error });
    }
    if (info.isDirectory()) {
      const before = files.length;
      await walk(path, files);
      if (files.length === before) {
        throw new MergeInputError(
          `input ${input}: no credential reports (*.csv, *.json, *.json.gz) in this directory`,
        );
      }
    } else {
      const kind = kindOf(path);
      if (!kind) throw new MergeInputError(`input ${input}: not a .csv, .json or .json.gz file`);
      files.push(fileOf(path, kind));
    }
  }
  const seen = new Set<string>();
  return files
    .filter((f) => (seen.has(f.path) ? false : (seen.add(f.path), true)))
    .sort((a, b) => {
      const ka = a.hint ?? '~';
      const kb = b.hint ?? '~';
      return ka < kb ? -1 : ka > kb ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
    });
}

/** A file that could not become a report. `accountId` undefined: not even the account is known. */
export interface BadInput {
  readonly path: string;
  readonly accountId?: string;
  readonly reason: ReportProblem['reason'];
  readonly detail: string;
}

/**
 * Why `bytes` are not UTF-8 text, in words a user can act on (a UTF-16 export, a binary file renamed
 * `.csv`), or undefined when they are. Checked before parsing: a parser's "the header has none of the
 * columns" would hide the cause.
 */
export function encodingProblem(bytes: Buffer): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return 'encoded as UTF-16 (little-endian, with a byte order mark), not UTF-8: save it as UTF-8';
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return 'encoded as UTF-16 (big-endian, with a byte order mark), not UTF-8: save it as UTF-8';
  }
  const sample = bytes.subarray(0, 4096);
  if (sample.includes(0)) {
    let evenZeros = 0;
    let oddZeros = 0;
    sample.forEach((b, i) => {
      if (b === 0) {
        if (i % 2 === 0) evenZeros++;
        else oddZeros++;
      }
    });
    const half = sample.length / 2;
    return Math.max(evenZeros, oddZeros) > half * 0.4 && Math.min(evenZeros, oddZeros) < half * 0.05
      ? 'encoded as UTF-16 (no byte order mark), not UTF-8: save it as UTF-8'
      : 'binary data, not a text file';
  }
  if (!isUtf8(bytes)) return 'not UTF-8 text (another encoding, or binary data): save it as UTF-8';
  return undefined;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** UTF-8 text without a leading byte order mark (a spreadsheet's "CSV UTF-8" export has one). */
function utf8Text(bytes: Buffer): string {
  return (bytes.subarray(0, 3).equals(UTF8_BOM) ? bytes.subarray(3) : bytes).toString('utf8');
}

/** A report schema failure in one line: what the file is not, and its first problem in plain words. */
function notAReport(error: unknown, json: unknown): string {
  const what = 'not a credreport account report such as accounts/<id>/latest.json';
  const version =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? (json as { schemaVersion?: unknown }).schemaVersion
      : undefined;
  const versions = ACCEPTED_SCHEMA_VERSIONS.join(', ').replace(/, (\d+)$/, ' or $1');
  if (version === undefined)
    return `${what}: it has no schemaVersion field (a report has schemaVersion ${versions})`;
  if (!(ACCEPTED_SCHEMA_VERSIONS as readonly unknown[]).includes(version)) {
    return `${what}: its schemaVersion is ${cutValue(JSON.stringify(version))}; this credreport reads ${versions}`;
  }
  const issues = (error as { cause?: unknown } | null)?.cause;
  const first = issues instanceof ZodError ? issues.issues[0] : undefined;
  if (first === undefined) return what;
  const field = first.path.length > 0 ? first.path.join('.') : 'the document';
  return `${what} (first problem: ${field} ${plainIssue(first, valueAt(json, first.path))})`;
}

/** The value at a schema issue's path in the parsed JSON (undefined when absent). */
function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

const cutValue = (text: string): string => (text.length <= 40 ? text : `${text.slice(0, 39)}…`);

/** One schema problem as a person would say it. */
function plainIssue(issue: ZodError['issues'][number], value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? 'is missing' : `should be ${article(issue.expected)}`;
    case 'too_big':
      return `is too ${issue.origin === 'string' ? 'long' : issue.origin === 'array' ? 'long a list' : 'large'} (at most ${String(issue.maximum)})`;
    case 'too_small':
      return `is too ${issue.origin === 'string' ? 'short' : issue.origin === 'array' ? 'short a list' : 'small'} (at least ${String(issue.minimum)})`;
    case 'invalid_format':
      return `is not in the expected format (${issue.format})`;
    case 'invalid_value':
      return 'is not one of the values a report may hold';
    case 'unrecognized_keys':
      return `has fields a report does not: ${issue.keys.slice(0, 3).join(', ')}`;
    default:
      return 'is not valid in a report';
  }
}

const article = (type: string): string =>
  ({ string: 'text', number: 'a number', boolean: 'true or false', array: 'a list', object: 'an object' })[
    type
  ] ?? type;

/** Reads one file into a report, or says why it cannot be one. */
export async function readInputFile(
  file: InputFile,
  reportTime: Date,
): Promise<{ report: AccountReport } | { bad: BadInput }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file.path);
  } catch (error) {
    return {
      bad: {
        path: file.path,
        ...accountOf(file),
        reason: 'unreadable',
        detail: `cannot read: ${describe(error)}`,
      },
    };
  }
  const unreadable = (detail: string): { bad: BadInput } => ({
    bad: { path: file.path, ...accountOf(file), reason: 'unreadable', detail },
  });
  if (bytes.length === 0) return unreadable('empty file');
  if (file.kind === 'json.gz') {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      return unreadable(`not gzip data: ${describe(error)}`);
    }
  }
  const encoding = encodingProblem(bytes);
  if (encoding) return unreadable(encoding);
  const text = utf8Text(bytes);
  if (file.kind === 'csv') {
    const accountId = ACCOUNT_IN_NAME.exec(basename(file.path))?.[1] ?? detectReportAccountId(text);
    if (!accountId) {
      return {
        bad: {
          path: file.path,
          reason: 'rejected',
          detail:
            'no 12-digit account id in the file name and no IAM ARN in the file: not a credential report?',
        },
      };
    }
    const at = reportTime.toISOString();
    return {
      report: {
        schemaVersion: 1,
        accountId,
        generatedTime: at,
        collectedTime: at,
        credentialReportCsv: text,
        accessKeys: [],
      },
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return unreadable(`not JSON: ${describe(error)}`);
  }
  try {
    return { report: parseAccountReport(json) };
  } catch (error) {
    const claimed = (json as { accountId?: unknown } | null)?.accountId;
    const accountId = typeof claimed === 'string' && /^\d{12}$/.test(claimed) ? claimed : file.hint;
    return {
      bad: {
        path: file.path,
        ...(accountId ? { accountId } : {}),
        reason: 'rejected',
        detail: notAReport(error, json),
      },
    };
  }
}

function accountOf(file: InputFile): { accountId?: string } {
  return file.hint ? { accountId: file.hint } : {};
}

/** The message of a file that names no account (an unattributed problem, also a summary warning). */
function unattributedDetail(bad: BadInput): string {
  return `${basename(bad.path)}: ${bad.reason}: ${bad.detail}`;
}

/**
 * Reads files one at a time, in account order, as run items: a bad file is a problem of its account, or
 * an unattributed problem when not even the account is known. `onRead`/`onBad` only feed the console.
 */
async function* readItems(
  files: readonly InputFile[],
  reportTime: Date,
  onRead: (report: AccountReport, path: string) => void,
  onBad: (bad: BadInput) => void,
): AsyncGenerator<RunItem> {
  for (const file of files) {
    const result = await readInputFile(file, reportTime);
    if ('report' in result) {
      onRead(result.report, file.path);
      yield { kind: 'report', report: result.report };
      continue;
    }
    const b = result.bad;
    onBad(b);
    yield b.accountId
      ? {
          kind: 'problem',
          problem: { accountId: b.accountId, reason: b.reason, detail: `${basename(b.path)}: ${b.detail}` },
        }
      : { kind: 'unattributed', detail: unattributedDetail(b) };
  }
}

/**
 * Reads `--previous DIR`: its state.json.gz when it has one (core/run-state.ts), else its CSVs
 * (credential-report.csv required; access-keys.csv optional: runs before the state existed); summary.json
 * optional either way.
 */
export async function readPreviousDir(dir: string): Promise<PreviousRun> {
  const names = S3_LAYOUT.outputFiles;
  const path = (name: string): string => join(dir, name);
  const exists = async (name: string): Promise<boolean> =>
    stat(path(name)).then(
      (s) => s.isFile(),
      () => false,
    );
  const hasState = await exists(names.state);
  if (!hasState && !(await exists(names.credentialReport))) {
    throw new MergeInputError(
      `--previous ${dir}: no ${names.state} or ${names.credentialReport} in this directory`,
    );
  }
  let summary: PreviousSummary | undefined;
  if (await exists(names.summary)) {
    try {
      // The same schema + version check as the digest's previous run in S3.
      summary = parsePreviousSummary(await readFile(path(names.summary)));
    } catch (error) {
      throw new MergeInputError(`--previous ${dir}: ${names.summary}: ${describe(error)}`, { cause: error });
    }
  }
  try {
    if (hasState) {
      return await readPreviousState({
        state: createReadStream(path(names.state)),
        ...(summary ? { summary } : {}),
      });
    }
    return await readPreviousRun({
      credentialReport: createReadStream(path(names.credentialReport)),
      ...((await exists(names.accessKeys)) ? { accessKeys: createReadStream(path(names.accessKeys)) } : {}),
      ...(summary ? { summary } : {}),
    });
  } catch (error) {
    throw new MergeInputError(`--previous ${dir}: ${describe(error)}`, { cause: error });
  }
}

async function readMetadata(path: string, shown: string): Promise<OrgMetadata> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new MergeInputError(`--metadata ${shown}: ${describe(error)}`, { cause: error });
  }
  try {
    return parseMetadataFile(text, `--metadata ${shown}`);
  } catch (error) {
    throw new MergeInputError(describe(error), { cause: error });
  }
}

async function runMergeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, OPTIONS, {
    name: 'input file or directory',
    min: 1,
    max: Infinity,
  });
  const mode = parseOutputOptions(values);
  const failOn = parseFailOnOption(values['fail-on']);
  const now = values.now !== undefined ? parseDateOption('now', values.now) : new Date();
  const reportTime =
    values['report-time'] !== undefined ? parseDateOption('report-time', values['report-time']) : now;
  const thresholds = parseThresholdOptions(values);
  const tagKeys =
    values['tag-keys'] !== undefined ? parseListOption('tag-keys', values['tag-keys']) : undefined;
  const expected =
    values['expected-accounts'] !== undefined
      ? parseAccountIdsOption('expected-accounts', values['expected-accounts'])
      : undefined;
  const outDir = resolve(io.cwd, values.out ?? 'out');
  const cisVersion = parseCisVersionOption(values['cis-version']);
  // Before any other file is read: a bad exemptions file stops the command here.
  const exemptions = await readExemptionsOption(values, io.cwd);
  const owners = parseOwnerOptions(values, (dir) => resolve(io.cwd, dir));

  const metadata =
    values.metadata !== undefined
      ? await readMetadata(resolve(io.cwd, values.metadata), values.metadata)
      : undefined;
  const previous =
    values.previous !== undefined ? await readPreviousDir(resolve(io.cwd, values.previous)) : undefined;
  const files = await findInputFiles(positionals, io.cwd);
  await checkWritableDir(outDir);

  // Console only (naming the input files); the run gets the same problems as items.
  const bad: BadInput[] = [];
  const fileByAccount = new Map<string, string>();
  const input: RunInput = {
    now,
    thresholds,
    ...(metadata ? { metadata } : {}),
    ...(expected ? { expectedAccountIds: expected } : {}),
    items: readItems(
      files,
      reportTime,
      (report, path) => fileByAccount.set(report.accountId, path),
      (b) => bad.push(b),
    ),
    grantsOf: grantsOfReport,
    ...(tagKeys ? { tagKeys } : {}),
    ...(values['breakdown-tag'] !== undefined ? { breakdownTag: values['breakdown-tag'] } : {}),
    ...(previous ? { previous } : {}),
    ...(values.label !== undefined ? { organizationLabel: values.label } : {}),
    ...(cisVersion ? { cisVersion } : {}),
    ...(exemptions ? { exemptions } : {}),
    ...(owners ? { partitionOf: ownerPartitionOf(metadata, owners) } : {}),
  };
  const unnamed = (): BadInput[] => bad.filter((b) => !b.accountId);
  const fileOf = (accountId: string): string | undefined =>
    fileByAccount.get(accountId) ?? bad.find((b) => b.accountId === accountId)?.path;
  let written;
  try {
    // No account with a usable report: nothing is written, a previous run's outputs stay as they were.
    written = await writeRunOutputs(outDir, input, {
      refuse: (result) =>
        result.summary.totals.accounts === 0 ? 'no input is a readable credential report' : undefined,
    });
  } catch (error) {
    if (!(error instanceof OutputsRefusedError)) throw error;
    const lines = error.result.summary.coverage.entries.map((e) => {
      const file = fileOf(e.accountId);
      return `  ${describeCoverageEntry(e)}${file ? ` [${shownPath(io.cwd, file)}]` : ''}`;
    });
    for (const b of unnamed()) lines.push(`  ${shownPath(io.cwd, b.path)}: ${b.reason}: ${b.detail}`);
    io.stderr.write(
      `credreport merge: ${error.message}; nothing written to ${shownPath(io.cwd, outDir)}` +
        ` (a previous run's outputs there are untouched):\n${lines.join('\n')}\n`,
    );
    if (mode.json) {
      io.stdout.write(
        `${JSON.stringify({ command: 'merge', exitStatus: EXIT.error, error: error.message, problems: lines.map((l) => l.trim()) })}\n`,
      );
    }
    return EXIT.error;
  }
  const { result, paths } = written;
  const ownerFiles = owners
    ? await writeOwnerDigests(
        owners,
        result.partitions,
        values.label ?? metadata?.organizationId ?? 'AWS Organization',
      )
    : [];
  return finishRun(io, {
    command: 'merge',
    headline: 'Merged',
    summary: result.summary,
    verdict: result.verdict,
    files: [...Object.values(paths), ...ownerFiles],
    mode,
    ...(failOn ? { failOn } : {}),
    fileOf,
    unattributed: unnamed().map((b) => `${shownPath(io.cwd, b.path)}: ${b.reason}: ${b.detail}`),
    // Files that name no account are listed as problems already; the summary repeats them as warnings.
    skipWarnings: new Set(unnamed().map(unattributedDetail)),
  });
}

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge local CSV or stored JSON reports into one report and digest',
  help: HELP,
  run: runMergeCommand,
};
