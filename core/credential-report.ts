import { CsvError, parse } from 'csv-parse/sync';
import type { Options } from 'csv-parse/sync';
import { CREDENTIAL_REPORT_COLUMNS, ROOT_USER } from './columns';
import type { CredentialReportColumn, CredentialReportRow } from './columns';
import { CredreportError } from './errors';
import { isReportTimestamp, isTimeToken } from './time';

/**
 * A credential report that cannot be trusted whole. The message names the account, and where known the
 * (1-based, physical) line and the column; it never quotes cell contents.
 */
export class ReportParseError extends CredreportError {
  readonly accountId: string;
  readonly line?: number;
  readonly column?: string;
  /** The message without the account: `line 3, column mfa_active: not true or false`. */
  readonly detail: string;

  constructor(
    accountId: string,
    problem: string,
    where: { line?: number; column?: string } = {},
    options?: { cause?: unknown },
  ) {
    const place = [
      where.line === undefined ? undefined : `line ${where.line}`,
      where.column === undefined ? undefined : `column ${where.column}`,
    ]
      .filter((p) => p !== undefined)
      .join(', ');
    const detail = `${place ? `${place}: ` : ''}${problem}`;
    super(`Credential report of account ${accountId} rejected: ${detail}`, options);
    this.detail = detail;
    this.accountId = accountId;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}

export interface ParsedCredentialReport {
  readonly accountId: string;
  readonly rows: readonly CredentialReportRow[];
}

const COLUMN_COUNT = CREDENTIAL_REPORT_COLUMNS.length;
const COLUMN_SET: ReadonlySet<string> = new Set(CREDENTIAL_REPORT_COLUMNS);
const ACCOUNT_ID = /^\d{12}$/;
/** Any IAM ARN, any partition (aws, aws-cn, aws-us-gov, aws-iso-b, …). */
const IAM_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):\S+$/;
/** The principals a credential report lists: IAM users and the root user. */
const REPORT_PRINCIPAL_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):(?:root|user\/\S+)$/;

/**
 * IAM's bounds (docs/ARCHITECTURE.md §11): a report from a member account is hostile until checked, and
 * IAM itself never writes more, so a longer cell or more rows means the report was not written by IAM.
 * User names ≤ 64 characters, ARNs ≤ 2,048, 5,000 users per account (twice that here, as margin); the
 * free cells are region and service names.
 */
export const MAX_USER_NAME = 64;
export const MAX_ARN = 2_048;
export const MAX_FREE_CELL = 128;
export const MAX_REPORT_USERS = 10_000;

/**
 * Kind of check per column: `time` is ISO 8601 only; `time-or-token` also takes N/A, no_information and
 * not_supported; `bool-or-not-supported` is the root row's password_enabled.
 */
type Check = 'free' | 'user' | 'arn' | 'time' | 'time-or-token' | 'bool' | 'bool-or-not-supported';

const CHECK_OF: Readonly<Record<CredentialReportColumn, Check>> = {
  user: 'user',
  arn: 'arn',
  user_creation_time: 'time',
  password_enabled: 'bool-or-not-supported',
  password_last_used: 'time-or-token',
  password_last_changed: 'time-or-token',
  password_next_rotation: 'time-or-token',
  mfa_active: 'bool',
  access_key_1_active: 'bool',
  access_key_1_last_rotated: 'time-or-token',
  access_key_1_last_used_date: 'time-or-token',
  access_key_1_last_used_region: 'free',
  access_key_1_last_used_service: 'free',
  access_key_2_active: 'bool',
  access_key_2_last_rotated: 'time-or-token',
  access_key_2_last_used_date: 'time-or-token',
  access_key_2_last_used_region: 'free',
  access_key_2_last_used_service: 'free',
  cert_1_active: 'bool',
  cert_1_last_rotated: 'time-or-token',
  cert_2_active: 'bool',
  cert_2_last_rotated: 'time-or-token',
};
const CHECKS: readonly Check[] = CREDENTIAL_REPORT_COLUMNS.map((c) => CHECK_OF[c]);

/** `true`/`false` in any case (AWS writes lowercase; spreadsheets round-trip as `TRUE`/`FALSE`). */
function isBoolToken(cell: string): boolean {
  if (cell === 'true' || cell === 'false') return true;
  if (cell.length !== 4 && cell.length !== 5) return false;
  const lower = cell.toLowerCase();
  return lower === 'true' || lower === 'false';
}

/** A report boolean cell → boolean: `true` in any case is true; anything else (`false`, `not_supported`, `N/A`) is false. */
export function parseBool(cell: string): boolean {
  return cell === 'true' || (cell.length === 4 && cell.toLowerCase() === 'true');
}

/** `arn:aws:iam::123456789012:user/x` → '123456789012' (any partition); undefined if not an IAM ARN. */
export function accountIdFromArn(arn: string): string | undefined {
  return IAM_ARN.exec(arn)?.[1];
}

/**
 * The account a credential report belongs to, read from the first IAM ARN in it (for local files whose
 * name does not carry the account id). Undefined when no IAM ARN is found. Does not validate the report.
 */
export function detectReportAccountId(csvText: string): string | undefined {
  return /arn:aws(?:-[a-z]+)*:iam::(\d{12}):/.exec(csvText)?.[1];
}

/** Safe to echo in a message: looks like a column name, not like report contents. */
function describeHeaderCell(cell: string): string {
  return /^[A-Za-z0-9_]{1,64}$/.test(cell) ? cell : '(unrecognised)';
}

function describeAccountArg(accountId: string): string {
  return ACCOUNT_ID.test(accountId) ? accountId : JSON.stringify(accountId.slice(0, 40));
}

/**
 * csv-parse options for credential reports. Only what the format needs: a UTF-8 BOM is skipped, and
 * records of any length are returned (`relax_column_count`) so that the checks below can name the line
 * and the column of a short or long row; it costs nothing on rows of the right length. Everything that
 * adds work per record stays at its default (off): `info`, `raw`, `columns`, `cast`, `on_record`, trimming,
 * `skip_empty_lines` (an empty line inside the report must be caught, not skipped).
 */
const PARSE_OPTIONS = { bom: true, relax_column_count: true } as const;
const PARSE_OPTIONS_BY_LINE_ENDING = {
  '\n': { ...PARSE_OPTIONS, record_delimiter: '\n' },
  '\r\n': { ...PARSE_OPTIONS, record_delimiter: '\r\n' },
  '\r': { ...PARSE_OPTIONS, record_delimiter: '\r' },
} as const;

/**
 * The options for `csvText`, with the line ending set to the first one in the text (LF as IAM writes it,
 * or CRLF as Windows tools do): what csv-parse would discover by itself, but its discovery builds three
 * Buffers for every character of the header line, which costs more than parsing a 50-user report. When
 * a quote comes before the first line ending, csv-parse discovers it (it skips line breaks in quotes).
 * @internal exported for the test that holds it equal to csv-parse's own discovery.
 */
export function parseOptionsFor(csvText: string): Options {
  for (let i = 0; i < csvText.length; i++) {
    const c = csvText.charCodeAt(i);
    if (c === 10) return PARSE_OPTIONS_BY_LINE_ENDING['\n'];
    if (c === 13) return PARSE_OPTIONS_BY_LINE_ENDING[csvText.charCodeAt(i + 1) === 10 ? '\r\n' : '\r'];
    if (c === 34) break;
  }
  return PARSE_OPTIONS;
}

/**
 * Physical line (1-based) on which record `recordIndex` starts. Only computed on the error path, by a
 * second parse with per-record `info`, so the parse of a good report carries no per-record info object.
 */
function lineOfRecord(csvText: string, recordIndex: number): number | undefined {
  try {
    const records = parse(csvText, {
      ...parseOptionsFor(csvText),
      info: true,
      to: recordIndex + 1,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    const found = records[recordIndex];
    if (found === undefined) return undefined;
    // `info.lines` is the line the record ends on: step back over line breaks inside quoted cells.
    let breaks = 0;
    for (const cell of found.record)
      for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) breaks++;
    return found.info.lines - breaks;
  } catch {
    return undefined;
  }
}

function isBlankRecord(cells: readonly string[]): boolean {
  return cells.length === 1 && cells[0] === '';
}

function checkHeader(header: readonly string[], accountId: string): void {
  const at = { line: 1 };
  if (!header.some((cell) => COLUMN_SET.has(cell))) {
    throw new ReportParseError(
      accountId,
      'not a credential report: the header has none of the 22 columns',
      at,
    );
  }
  const seen = new Set<string>();
  for (const cell of header) {
    if (!COLUMN_SET.has(cell)) {
      throw new ReportParseError(accountId, 'unknown column in header', {
        ...at,
        column: describeHeaderCell(cell),
      });
    }
    if (seen.has(cell))
      throw new ReportParseError(accountId, 'duplicate column in header', { ...at, column: cell });
    seen.add(cell);
  }
  for (const column of CREDENTIAL_REPORT_COLUMNS) {
    if (!seen.has(column))
      throw new ReportParseError(accountId, 'missing column in header', { ...at, column });
  }
  for (let i = 0; i < COLUMN_COUNT; i++) {
    const expected = CREDENTIAL_REPORT_COLUMNS[i];
    if (header[i] !== expected) {
      throw new ReportParseError(
        accountId,
        `column out of order: found at position ${i + 1}, AWS writes ${expected} there`,
        { ...at, column: header[i] },
      );
    }
  }
}

/** What is wrong with `cell` for its column, or undefined when it is valid. */
function cellProblem(check: Check, cell: string): string | undefined {
  switch (check) {
    case 'free':
      return cell.length > MAX_FREE_CELL ? `longer than ${MAX_FREE_CELL} characters` : undefined;
    case 'user':
      if (cell === '') return 'empty user name';
      return cell.length > MAX_USER_NAME
        ? `user name longer than IAM's ${MAX_USER_NAME} characters`
        : undefined;
    case 'arn':
      if (cell.length > MAX_ARN) return `ARN longer than IAM's ${MAX_ARN} characters`;
      return REPORT_PRINCIPAL_ARN.test(cell) ? undefined : 'not the ARN of an IAM user or root user';
    case 'time':
      return isReportTimestamp(cell) ? undefined : 'not an ISO 8601 timestamp';
    case 'time-or-token':
      return isTimeToken(cell) || isReportTimestamp(cell)
        ? undefined
        : 'not an ISO 8601 timestamp nor N/A, no_information or not_supported';
    case 'bool':
      return isBoolToken(cell) ? undefined : 'not true or false';
    case 'bool-or-not-supported':
      return cell === 'not_supported' || isBoolToken(cell) ? undefined : 'not true, false or not_supported';
  }
}

function toRow(c: readonly string[]): CredentialReportRow {
  // One literal with every property: rows share a single hidden class, which keeps the hot paths fast.
  return {
    user: c[0]!,
    arn: c[1]!,
    user_creation_time: c[2]!,
    password_enabled: c[3]!,
    password_last_used: c[4]!,
    password_last_changed: c[5]!,
    password_next_rotation: c[6]!,
    mfa_active: c[7]!,
    access_key_1_active: c[8]!,
    access_key_1_last_rotated: c[9]!,
    access_key_1_last_used_date: c[10]!,
    access_key_1_last_used_region: c[11]!,
    access_key_1_last_used_service: c[12]!,
    access_key_2_active: c[13]!,
    access_key_2_last_rotated: c[14]!,
    access_key_2_last_used_date: c[15]!,
    access_key_2_last_used_region: c[16]!,
    access_key_2_last_used_service: c[17]!,
    cert_1_active: c[18]!,
    cert_1_last_rotated: c[19]!,
    cert_2_active: c[20]!,
    cert_2_last_rotated: c[21]!,
  };
}

/**
 * Strict parse of the raw credential report CSV text exactly as IAM writes it (a UTF-8 BOM and CRLF line
 * endings are accepted). Every cell is kept verbatim. Throws ReportParseError naming account, line and
 * column for anything that would make the report half-read: a non-CSV body, a header that is not the 22
 * columns in AWS order, a truncated or overlong line, a bad timestamp or boolean, a non-IAM ARN, an empty
 * user, a duplicate user, or ARNs of another account than `accountId`.
 */
export function parseCredentialReport(csvText: string, accountId: string): ParsedCredentialReport {
  if (!ACCOUNT_ID.test(accountId)) {
    throw new ReportParseError(describeAccountArg(accountId), 'the account id is not 12 digits');
  }
  if (typeof csvText !== 'string' || /^\uFEFF?\s*$/.test(csvText)) {
    throw new ReportParseError(accountId, 'empty report', { line: 1 });
  }

  let records: string[][];
  try {
    records = parse(csvText, parseOptionsFor(csvText));
  } catch (err) {
    const line = err instanceof CsvError ? (err as CsvError & { lines?: number }).lines : undefined;
    const code = err instanceof CsvError ? err.code : 'unreadable';
    throw new ReportParseError(accountId, `not valid CSV (${code})`, line === undefined ? {} : { line }, {
      cause: err,
    });
  }

  // Blank lines after the last row are harmless; one inside the report may hide a lost row.
  let end = records.length;
  while (end > 1 && isBlankRecord(records[end - 1]!)) end--;

  const header = records[0];
  if (header === undefined) throw new ReportParseError(accountId, 'empty report', { line: 1 });
  checkHeader(header, accountId);
  if (end - 1 > MAX_REPORT_USERS + 1) {
    throw new ReportParseError(
      accountId,
      `${end - 1} rows: more than IAM's users per account allow (at most ${MAX_REPORT_USERS} here)`,
    );
  }

  const rows: CredentialReportRow[] = new Array<CredentialReportRow>(end - 1);
  const users = new Set<string>();
  for (let r = 1; r < end; r++) {
    const cells = records[r]!;
    if (isBlankRecord(cells)) {
      const line = lineOfRecord(csvText, r);
      throw new ReportParseError(
        accountId,
        'empty line inside the report',
        line === undefined ? {} : { line },
      );
    }
    if (cells.length !== COLUMN_COUNT) {
      const line = lineOfRecord(csvText, r);
      throw new ReportParseError(
        accountId,
        cells.length < COLUMN_COUNT
          ? `truncated line: ${cells.length} of ${COLUMN_COUNT} cells`
          : `${cells.length} cells, expected ${COLUMN_COUNT}: extra cells after cert_2_last_rotated`,
        {
          ...(line === undefined ? {} : { line }),
          column:
            cells.length < COLUMN_COUNT ? CREDENTIAL_REPORT_COLUMNS[cells.length] : 'cert_2_last_rotated',
        },
      );
    }
    for (let i = 0; i < COLUMN_COUNT; i++) {
      const problem = cellProblem(CHECKS[i]!, cells[i]!);
      if (problem !== undefined) {
        const line = lineOfRecord(csvText, r);
        throw new ReportParseError(accountId, problem, {
          ...(line === undefined ? {} : { line }),
          column: CREDENTIAL_REPORT_COLUMNS[i],
        });
      }
    }
    const row = toRow(cells);
    // The ARN matched REPORT_PRINCIPAL_ARN above: the account is the 12 digits after `:iam::`.
    const accountAt = row.arn.indexOf(':iam::') + 6;
    const arnAccount = row.arn.slice(accountAt, accountAt + 12);
    const isRootArn = row.arn.endsWith(':root');
    let problem: string | undefined;
    let column: CredentialReportColumn = 'arn';
    if (arnAccount !== accountId) problem = `the ARN belongs to account ${arnAccount}, not ${accountId}`;
    else if (isRootArn !== (row.user === ROOT_USER)) {
      problem = isRootArn
        ? `a root ARN on a row that is not ${ROOT_USER}`
        : `${ROOT_USER} without a root ARN`;
    } else if (users.has(row.user)) {
      problem = 'duplicate user';
      column = 'user';
    }
    if (problem !== undefined) {
      const line = lineOfRecord(csvText, r);
      throw new ReportParseError(accountId, problem, { ...(line === undefined ? {} : { line }), column });
    }
    users.add(row.user);
    rows[r - 1] = row;
  }
  return { accountId, rows };
}
