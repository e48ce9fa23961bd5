/**
 * The Athena (Glue) tables over the digest's dated CSVs (docs/ARCHITECTURE.md §6 "Athena"). Pure: the hub
 * stack builds its Glue tables from these definitions, the digest copies each run's CSVs to the tables'
 * folders with {@link athenaTableCopies}, and the offline check (scripts/athena-duckdb.ts) reads the same
 * folders with the same columns.
 *
 * Why copies: Athena reads every object under a table's location, and runs/date=…/ holds six files of
 * different shapes, so each table gets a folder of its own: `tables/<table>/date=YYYY-MM-DD/<file>`.
 * Why fixed tag columns: the CSV SerDe maps columns by position, so the tag columns must be known at
 * synth time (`tagKeys` set; the digest writes exactly those, in that order).
 */
import { findingsHeader, accessKeysHeader, credentialReportHeader } from './merge';
import { S3_LAYOUT } from './names';
import { TAG_COLUMN_PREFIX } from './columns';
import { CredreportError } from './errors';

/** The tables, each with the run output it reads. */
export const ATHENA_TABLES = {
  credential_report: S3_LAYOUT.outputFiles.credentialReport,
  access_keys: S3_LAYOUT.outputFiles.accessKeys,
  findings: S3_LAYOUT.outputFiles.findings,
} as const;

export type AthenaTableName = keyof typeof ATHENA_TABLES;

/** The partition column of every table: the run's UTC day, `YYYY-MM-DD` (partition projection, type date). */
export const ATHENA_PARTITION_COLUMN = 'date';

/** A tag key cannot become a distinct Glue column name. */
export class AthenaColumnError extends CredreportError {}

/**
 * The Glue column name of a CSV header cell: Glue and Athena want lower-case names of letters, digits and
 * `_`, so `tag:Cost-Center` becomes `tag_cost_center`; every other header is already such a name.
 */
export function glueColumnName(header: string): string {
  if (!header.startsWith(TAG_COLUMN_PREFIX)) return header;
  const key = header.slice(TAG_COLUMN_PREFIX.length);
  return `tag_${key.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
}

/** The Glue column name of account tag `key`'s column. */
export const tagColumnName = (key: string): string => glueColumnName(`${TAG_COLUMN_PREFIX}${key}`);

/** Every table's columns in CSV order (all `string`: the CSV SerDe reads text; queries cast). */
export function athenaTableColumns(tagKeys: readonly string[]): Record<AthenaTableName, string[]> {
  const headers: Record<AthenaTableName, string[]> = {
    credential_report: credentialReportHeader(tagKeys),
    access_keys: accessKeysHeader(tagKeys),
    findings: findingsHeader(tagKeys),
  };
  const out = {} as Record<AthenaTableName, string[]>;
  for (const table of Object.keys(headers) as AthenaTableName[]) {
    const names = headers[table].map(glueColumnName);
    const seen = new Map<string, string>();
    names.forEach((name, i) => {
      const header = headers[table][i] ?? '';
      const clash = seen.get(name);
      if (clash !== undefined) {
        throw new AthenaColumnError(
          `tagKeys: ${JSON.stringify(clash)} and ${JSON.stringify(header)} would both be the ${table} column ${name}; Athena column names are lower case letters, digits and _`,
        );
      }
      seen.set(name, header);
    });
    out[table] = names;
  }
  return out;
}

/** Where `table`'s copy of the run of `date` (YYYY-MM-DD) lives in the hub bucket. */
export function athenaTableKey(table: AthenaTableName, date: string): string {
  return `${S3_LAYOUT.tablePartition(table, date)}${ATHENA_TABLES[table]}`;
}

/** The copies a run makes for the tables: each output file and the key it is copied to. */
export function athenaTableCopies(date: string): { readonly file: string; readonly key: string }[] {
  return (Object.keys(ATHENA_TABLES) as AthenaTableName[]).map((table) => ({
    file: ATHENA_TABLES[table],
    key: athenaTableKey(table, date),
  }));
}
