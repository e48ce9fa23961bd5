/**
 * The saved Athena queries (docs/ARCHITECTURE.md §6 "Athena"): one SQL text per question, used by the hub
 * stack's AWS::Athena::NamedQuery resources and, unchanged but for `current_date`, by the offline check that
 * runs them with DuckDB over a tree written by the real pipeline (scripts/athena-duckdb.ts). Pure.
 *
 * Dialect: the subset Athena (Trino) and DuckDB share — string columns compared as text, `TRY_CAST` for
 * numbers (a cell may be empty), `CAST(CAST(current_date - INTERVAL 'n' DAY AS date) AS varchar)` for a
 * day as the partition's `YYYY-MM-DD` text (DuckDB's date minus interval is a timestamp, hence the inner
 * cast), `CASE` sums rather than `count_if`.
 *
 * Every query reads the newest run of the last {@link LATEST_RUN_WINDOW_DAYS} days (the partition filter
 * bounds what Athena lists and scans under partition projection); no run in that window: no rows.
 */
import { neutraliseCell } from './csv-safety';
import { tagColumnName } from './athena-tables';

/** Days back a query looks for the newest run. */
export const LATEST_RUN_WINDOW_DAYS = 7;
/** Days the trend query covers. */
export const TREND_DAYS = 90;
/** "Unused for more than" this many days. */
export const UNUSED_KEY_DAYS = 90;
/** "Open longer than" this many days. */
export const OPEN_FINDING_DAYS = 30;

/** What the queries need to know about the organization's tags. */
export interface AthenaQueryOptions {
  /** Tag key whose value marks an account's environment (e.g. `Environment`). */
  readonly environmentTag: string;
  /** The environment tag's value of production accounts (e.g. `Production`). */
  readonly productionValue: string;
  /** Tag key naming an account's owner (e.g. `Owner`). */
  readonly ownerTag: string;
}

/** One saved query. */
export interface AthenaQuery {
  /** The NamedQuery's name (also its id in tests and the demo). */
  readonly name: string;
  /** What it answers, as the console shows it. */
  readonly description: string;
  readonly sql: string;
}

/** A SQL string literal. */
const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** `YYYY-MM-DD` text of the day `days` before today, in both dialects. */
const dayText = (days: number): string =>
  days === 0
    ? 'CAST(current_date AS varchar)'
    : `CAST(CAST(current_date - INTERVAL '${days}' DAY AS date) AS varchar)`;

/** The rows of `table` of the newest run in the window, as CTE `latest` (with `recent` before it). */
const latestRun = (table: string): string =>
  `WITH recent AS (
  SELECT * FROM ${table}
  WHERE "date" BETWEEN ${dayText(LATEST_RUN_WINDOW_DAYS)} AND ${dayText(0)}
),
latest AS (
  SELECT * FROM recent WHERE "date" = (SELECT max("date") FROM recent)
)`;

/**
 * The SQL expression that undoes the CSV writer's formula neutralising (core/csv-safety.ts) on `column`:
 * a cell that starts with `'` followed by `=`, `+`, `-`, `@`, tab, carriage return or their fullwidth forms
 * loses the `'`. Ambiguous only for a value that itself began with `'` and one of those characters.
 * Keep the prefix when results go to a spreadsheet.
 */
export function unneutraliseSql(column: string): string {
  const starts = ["'='", "'+'", "'-'", "'@'", 'chr(9)', 'chr(13)', "'＝'", "'＋'", "'－'", "'＠'"];
  return `CASE WHEN substr(${column}, 1, 1) = '''' AND substr(${column}, 2, 1) IN (${starts.join(', ')}) THEN substr(${column}, 2) ELSE ${column} END`;
}

/** The four saved queries, in the order the README lists them. */
export function athenaQueries(options: AthenaQueryOptions): AthenaQuery[] {
  const environment = tagColumnName(options.environmentTag);
  const owner = tagColumnName(options.ownerTag);
  // The CSV holds the value as written, neutralised like every cell.
  const production = literal(neutraliseCell(options.productionValue));
  return [
    {
      name: 'credreport-unused-production-keys',
      description: `Active access keys unused for more than ${UNUSED_KEY_DAYS} days (a never-used key counts from its creation) in accounts whose ${options.environmentTag} tag is ${options.productionValue}, newest run`,
      sql: `${latestRun('access_keys')}
SELECT account_id, account_name, "user", access_key_id, created, last_used_date,
  COALESCE(TRY_CAST(days_since_last_use AS integer), TRY_CAST(age_days AS integer)) AS unused_days
FROM latest
WHERE ${environment} = ${production}
  AND status = 'Active'
  AND COALESCE(TRY_CAST(days_since_last_use AS integer), TRY_CAST(age_days AS integer)) > ${UNUSED_KEY_DAYS}
ORDER BY unused_days DESC, account_id, "user", access_key_id`,
    },
    {
      name: 'credreport-admin-keys-by-ou',
      description:
        'Active access keys of users with admin power (root included), per OU path, newest run; a user whose privileges were not collected is not counted',
      sql: `${latestRun('access_keys')}
SELECT ou_path, count(*) AS admin_keys, count(DISTINCT account_id) AS accounts,
  sum(CASE WHEN "user" = '<root_account>' THEN 1 ELSE 0 END) AS root_keys
FROM latest
WHERE admin = 'true' AND status = 'Active'
GROUP BY ou_path
ORDER BY admin_keys DESC, ou_path`,
    },
    {
      name: 'credreport-findings-open-30-days-by-owner',
      description: `Open findings first seen more than ${OPEN_FINDING_DAYS} days before the newest run, per value of the ${options.ownerTag} account tag (empty: untagged)`,
      sql: `${latestRun('findings')}
SELECT ${owner} AS owner, count(*) AS findings,
  sum(CASE WHEN severity IN ('critical', 'high') THEN 1 ELSE 0 END) AS critical_or_high,
  max(TRY_CAST(age_days AS integer)) AS oldest_days
FROM latest
WHERE TRY_CAST(age_days AS integer) > ${OPEN_FINDING_DAYS}
GROUP BY ${owner}
ORDER BY findings DESC, owner`,
    },
    {
      name: 'credreport-open-critical-high-trend',
      description: `Open critical and high findings per run day (organization findings included), last ${TREND_DAYS} days`,
      sql: `SELECT "date", sum(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS critical,
  sum(CASE WHEN severity = 'high' THEN 1 ELSE 0 END) AS high
FROM findings
WHERE "date" BETWEEN ${dayText(TREND_DAYS)} AND ${dayText(0)}
GROUP BY "date"
ORDER BY "date"`,
    },
  ];
}
