/**
 * The saved Athena queries, run offline with DuckDB (docs/ARCHITECTURE.md §6 "Athena"): the test
 * test/unit/scripts/athena-duckdb.test.ts and `npm run athena:demo` both use it.
 *
 * The tree is written by the real pipeline (cli/outputs.ts writeRunOutputs → core/run-pipeline.ts, as
 * `credreport demo` and `merge` write it) for two simulated days, the second with the first as its previous
 * run (read back by `merge --previous`'s reader), into a folder laid out like the hub bucket: runs/date=…/
 * and the tables' copies (core/athena-tables.ts athenaTableCopies, the digest's own list).
 *
 * The translation from Athena to DuckDB is mechanical and the only one: each Glue table becomes a view over
 * read_csv of its folder with the Glue columns by position after the header (what OpenCSVSerde with
 * skip.header.line.count=1 does), the `date` partition read from the folder names as text (what partition
 * projection gives), empty cells as '' (OpenCSVSerde has no NULL); and `current_date` becomes the simulated
 * day. The SQL text is otherwise the NamedQuery's.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { athenaTableColumns, athenaTableCopies, ATHENA_TABLES, AthenaTableName } from '../core/athena-tables';
import { athenaQueries, AthenaQueryOptions } from '../core/athena-queries';
import { CREDENTIAL_REPORT_COLUMNS } from '../core/columns';
import { grantsOfReport } from '../core/merge';
import { S3_LAYOUT } from '../core/names';
import { runDate } from '../core/run-date';
import { reportTime, SAMPLE_ACCOUNTS, sampleOrganization } from '../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../core/thresholds';
import type { AccountReport } from '../core/types';
import { readPreviousDir } from '../cli/commands/merge';
import { writeRunOutputs } from '../cli/outputs';

/** The tag columns of the simulated hub (`tagKeys`, in this order) and what the queries read of them. */
export const DEMO_TAG_KEYS = ['Environment', 'Owner', 'CostCenter'] as const;
export const DEMO_QUERY_OPTIONS: AthenaQueryOptions = {
  environmentTag: 'Environment',
  productionValue: 'Production',
  ownerTag: 'Owner',
};

/** The two simulated digest runs: 35 days apart, so findings carried over are more than 30 days old. */
export const SIMULATED_DAYS = [new Date('2026-05-01T07:00:00Z'), new Date('2026-06-05T07:00:00Z')] as const;

const DAY_MS = 86_400_000;

/** `report` without user `name` (deleted between the two days): its credential report row, keys and privileges. */
function withoutUser(report: AccountReport, name: string): AccountReport {
  const lines = report.credentialReportCsv.split('\n').filter((line) => !line.startsWith(`${name},`));
  return {
    ...report,
    credentialReportCsv: lines.join('\n'),
    accessKeys: report.accessKeys.filter((k) => k.userName !== name),
    ...(report.privileges ? { privileges: report.privileges.filter((p) => p.userName !== name) } : {}),
  };
}

/** `report` with a console user `name` without MFA and without keys, created 3 days before the report. */
function withConsoleUser(report: AccountReport, name: string): AccountReport {
  const at = Date.parse(report.generatedTime);
  const created = reportTime(at - 3 * DAY_MS);
  const cells: Record<string, string> = {
    user: name,
    arn: `arn:aws:iam::${report.accountId}:user/${name}`,
    user_creation_time: created,
    password_enabled: 'true',
    password_last_used: reportTime(at - DAY_MS),
    password_last_changed: created,
    mfa_active: 'false',
    access_key_1_active: 'false',
    access_key_2_active: 'false',
    cert_1_active: 'false',
    cert_2_active: 'false',
  };
  const row = CREDENTIAL_REPORT_COLUMNS.map((c) => cells[c] ?? 'N/A').join(',');
  const none = { admin: false, s3Read: false, rdsRead: false, dynamodbRead: false, grantingPolicies: {} };
  return {
    ...report,
    credentialReportCsv: `${report.credentialReportCsv.trimEnd()}\n${row}\n`,
    ...(report.privileges ? { privileges: [...report.privileges, { userName: name, ...none }] } : {}),
  };
}

/**
 * The sample organization on simulated day `index` (0 or 1). Day 2 differs from day 1 by two changes an
 * operator would make: dev-sandbox's `old-service` user was deleted, and prod-payments got a console user
 * `new-hire` without MFA.
 */
export function simulatedOrganization(index: 0 | 1): ReturnType<typeof sampleOrganization> {
  const org = sampleOrganization(SIMULATED_DAYS[index]);
  if (index === 0) return org;
  const reports = org.reports.map((report) =>
    report.accountId === SAMPLE_ACCOUNTS.devSandbox
      ? withoutUser(report, 'old-service')
      : report.accountId === SAMPLE_ACCOUNTS.payments
        ? withConsoleUser(report, 'new-hire')
        : report,
  );
  return { ...org, reports };
}

/**
 * Writes simulated day `index` under `root` as the digest lays it out: runs/date=…/ (the pipeline's six
 * outputs) and the tables' copies; day 2 reads day 1's run folder as its previous run.
 */
export async function writeSimulatedDay(root: string, index: 0 | 1): Promise<string> {
  const now = SIMULATED_DAYS[index];
  const date = runDate(now);
  const runDir = join(root, S3_LAYOUT.runPrefix(date));
  const previous =
    index === 1
      ? await readPreviousDir(join(root, S3_LAYOUT.runPrefix(runDate(SIMULATED_DAYS[0]))))
      : undefined;
  const org = simulatedOrganization(index);
  await writeRunOutputs(runDir, {
    now,
    thresholds: DEFAULT_THRESHOLDS,
    metadata: org.metadata,
    items: org.reports.map((report) => ({ kind: 'report' as const, report })),
    grantsOf: grantsOfReport,
    tagKeys: DEMO_TAG_KEYS,
    ...(previous ? { previous } : {}),
  });
  for (const { file, key } of athenaTableCopies(date)) {
    const destination = join(root, key);
    await mkdir(join(destination, '..'), { recursive: true });
    await copyFile(join(runDir, file), destination);
  }
  return date;
}

/** A DuckDB string literal. */
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The one dialect change besides the views: Athena's `current_date` is the simulated day. */
export function toDuckDbSql(athenaSql: string, today: string): string {
  return athenaSql.replace(/\bcurrent_date\b/g, `DATE ${literal(today)}`);
}

/** The DuckDB view standing for Glue table `table` over the tree at `root`. */
export function duckDbView(root: string, table: AthenaTableName, columns: readonly string[]): string {
  const glob = join(root, S3_LAYOUT.tablesPrefix, table, '*', ATHENA_TABLES[table]);
  const struct = columns.map((c) => `${literal(c)}: 'VARCHAR'`).join(', ');
  return `CREATE OR REPLACE VIEW ${table} AS SELECT * FROM read_csv(${literal(glob)},
  header = true, auto_detect = false, columns = {${struct}},
  delim = ',', quote = '"', escape = '"', nullstr = chr(1),
  hive_partitioning = true, hive_types = {'date': 'VARCHAR'})`;
}

/** One query's answer: its column names and rows (every value as text, null as null). */
export interface QueryAnswer {
  readonly name: string;
  readonly sql: string;
  readonly columns: string[];
  readonly rows: (string | null)[][];
}

/** Runs every saved query over the tree at `root` as of `today` (YYYY-MM-DD). */
export async function runSavedQueries(
  root: string,
  today: string,
  tagKeys: readonly string[] = DEMO_TAG_KEYS,
  options: AthenaQueryOptions = DEMO_QUERY_OPTIONS,
): Promise<QueryAnswer[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const columns = athenaTableColumns(tagKeys);
    for (const table of Object.keys(ATHENA_TABLES) as AthenaTableName[]) {
      await connection.run(duckDbView(root, table, columns[table]));
    }
    const answers: QueryAnswer[] = [];
    for (const query of athenaQueries(options)) {
      const reader = await connection.runAndReadAll(toDuckDbSql(query.sql, today));
      answers.push({
        name: query.name,
        sql: query.sql,
        columns: reader.columnNames(),
        rows: reader.getRowsJS().map((row) => row.map((v) => (v === null ? null : String(v)))),
      });
    }
    return answers;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** An answer as a small text table (for the test output and the demo). */
export function formatAnswer(answer: QueryAnswer): string {
  const cells = [answer.columns, ...answer.rows.map((r) => r.map((v) => v ?? 'NULL'))];
  const widths = answer.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  const body = answer.rows.length === 0 ? ['(no rows)'] : cells.slice(1).map(line);
  return [line(cells[0] ?? []), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body].join('\n');
}
