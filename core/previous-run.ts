/**
 * The previous run, read back for the delta (docs/ARCHITECTURE.md §2, §6): its credential-report.csv and
 * access-keys.csv streamed into per-user and per-key finding masks, and its summary.json parsed with a
 * schema and a version check. Everything a caller reads from S3 or disk goes through here, so a
 * summary.json of another version or shape is refused the same way whichever adapter found it.
 */
import { CsvError, parse } from 'csv-parse';
import * as z from 'zod';
import { CredreportError } from './errors';
import { findingMask } from './finding-ids';
import { keyIdentity, PreviousRun, userIdentity } from './delta';
import type { CoverageStatus } from './types';

/** The previous run's files are unreadable or are not files runMerge wrote. */
export class PreviousRunError extends CredreportError {}

/**
 * What the delta needs of a previous summary.json; other fields pass through unchecked so that a newer
 * minor addition does not make a previous run unreadable. `schemaVersion` must be 1.
 */
export const PreviousSummarySchema = z.looseObject({
  schemaVersion: z.literal(1),
  generatedAt: z.string(),
  byAccount: z.array(
    z.looseObject({
      accountId: z.string(),
      status: z.enum(['reporting', 'stale', 'missing']),
    }),
  ),
});
/** The validated part of a previous summary.json (a current Summary is one too). */
export interface PreviousSummary {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly byAccount: readonly { readonly accountId: string; readonly status: CoverageStatus }[];
}

/** Parses and validates a previous summary.json; throws PreviousRunError naming what is wrong. */
export function parsePreviousSummary(bytes: Uint8Array | string): PreviousSummary {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new PreviousRunError('previous summary.json is not JSON', { cause });
  }
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof json === 'object' && json !== null && version !== undefined && version !== 1) {
    throw new PreviousRunError(
      `previous summary.json has schemaVersion ${JSON.stringify(version)}; this version reads 1`,
    );
  }
  const parsed = PreviousSummarySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new PreviousRunError(
      `previous summary.json is not a credreport summary${where}: ${issue?.message ?? 'invalid'}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function maskFromCell(cell: string): number {
  return cell === '' ? 0 : findingMask(cell.split(';'));
}

async function* records(stream: NodeJS.ReadableStream, file: string): AsyncGenerator<string[]> {
  const parser = parse({ bom: true, skip_empty_lines: true });
  stream.on('error', (cause: unknown) =>
    parser.destroy(
      new PreviousRunError(
        `reading ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        {
          cause,
        },
      ),
    ),
  );
  stream.pipe(parser);
  try {
    for await (const record of parser) yield record as string[];
  } catch (cause) {
    if (cause instanceof PreviousRunError) throw cause;
    // The code and line, not csv-parse's message: that quotes the offending cell (report contents).
    const where =
      cause instanceof CsvError
        ? ` (${cause.code}, line ${(cause as CsvError & { lines?: number }).lines ?? '?'})`
        : '';
    throw new PreviousRunError(`previous ${file} is not valid CSV${where}`, { cause });
  }
}

function columnIndexes<const C extends string>(
  header: readonly string[],
  file: string,
  columns: readonly C[],
) {
  const index = {} as Record<C, number>;
  for (const column of columns) {
    const i = header.indexOf(column);
    if (i < 0)
      throw new PreviousRunError(`previous ${file} has no '${column}' column: not written by credreport`);
    index[column] = i;
  }
  return index;
}

/**
 * The one reader of a previous run (docs/ARCHITECTURE.md §2), for the digest (S3 objects) and `credreport merge
 * --previous DIR` (files) alike: the adapters only open the streams and read summary.json's bytes.
 * Streams the previous credential-report.csv (and access-keys.csv) as written by runMerge into a
 * {@link PreviousRun}. Throws PreviousRunError when a file is not CSV or lacks a needed column.
 */
export async function readPreviousRun(files: {
  readonly credentialReport: NodeJS.ReadableStream;
  readonly accessKeys?: NodeJS.ReadableStream;
  /** summary.json as its bytes (validated here) or already parsed. */
  readonly summary?: PreviousSummary | Uint8Array | string;
}): Promise<PreviousRun> {
  const summary =
    typeof files.summary === 'string' || files.summary instanceof Uint8Array
      ? parsePreviousSummary(files.summary)
      : files.summary;
  const users = new Map<string, number>();
  const accounts = new Set<string>();
  let idx: Record<'account_id' | 'user' | 'findings', number> | undefined;
  for await (const record of records(files.credentialReport, 'credential-report.csv')) {
    if (!idx) {
      idx = columnIndexes(record, 'credential-report.csv', ['account_id', 'user', 'findings'] as const);
      continue;
    }
    const account = record[idx.account_id] ?? '';
    accounts.add(account);
    users.set(userIdentity(account, record[idx.user] ?? ''), maskFromCell(record[idx.findings] ?? ''));
  }
  if (!idx) throw new PreviousRunError('previous credential-report.csv is empty');

  let keys: Map<string, number> | undefined;
  if (files.accessKeys) {
    keys = new Map();
    let kidx:
      | Record<'account_id' | 'user' | 'access_key_id' | 'key_slot' | 'created' | 'findings', number>
      | undefined;
    for await (const record of records(files.accessKeys, 'access-keys.csv')) {
      if (!kidx) {
        kidx = columnIndexes(record, 'access-keys.csv', [
          'account_id',
          'user',
          'access_key_id',
          'key_slot',
          'created',
          'findings',
        ] as const);
        continue;
      }
      const identity = keyIdentity(
        record[kidx.account_id] ?? '',
        record[kidx.user] ?? '',
        record[kidx.access_key_id] ?? '',
        record[kidx.key_slot] ?? '',
        record[kidx.created] ?? '',
      );
      keys.set(identity, maskFromCell(record[kidx.findings] ?? ''));
    }
    if (!kidx) throw new PreviousRunError('previous access-keys.csv is empty');
  }

  const reportingAccounts = summary
    ? new Set(summary.byAccount.filter((a) => a.status === 'reporting').map((a) => a.accountId))
    : accounts;
  return {
    ...(summary ? { generatedAt: summary.generatedAt } : {}),
    users,
    ...(keys ? { keys } : {}),
    accounts,
    reportingAccounts,
  };
}
