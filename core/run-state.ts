/**
 * The run state (docs/ARCHITECTURE.md §6 "Run state"): state.json.gz, written with every run beside the
 * other outputs, holds per user and per key the open findings with the time each was first seen. The next
 * run reads it instead of re-parsing the previous CSVs for its delta and for findings.csv's first_seen.
 *
 * Format: gzip of NDJSON. Line 1 is the header `{"schemaVersion":1,"kind":"credreport-state",
 * "generatedAt":ISO}`; every other line is `["u"|"k", identity, {finding: firstSeenIso, …}]`, the identity as
 * the delta builds it (core/delta.ts userIdentity / keyIdentity, cells in their written form). Finding names
 * this version does not know are ignored (a newer writer), as in the CSV reader.
 *
 * Read as hostile input, like any previous-run file: decompressed size, line length, entries and times
 * are bounded and every line is schema-checked; anything else is a PreviousRunError naming the line.
 */
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { createGunzip, createGzip, Gzip } from 'node:zlib';
import * as z from 'zod';
import type { PreviousRun } from './delta';
import { FINDING_IDS, findingMask, FindingId } from './finding-ids';
import { PreviousRunError, PreviousSummary, parsePreviousSummary } from './previous-run';
import { writable } from './stream-wait';

/** The file's kind and version (the header's `kind` and `schemaVersion`). */
export const RUN_STATE_KIND = 'credreport-state';
export const RUN_STATE_VERSION = 1;

/** Bounds of a state file read back (a genuine one of 10,000 accounts × 10,000 users fits with room). */
export const RUN_STATE_BOUNDS = {
  /** Decompressed bytes. */
  maxBytes: 4 * 1024 * 1024 * 1024,
  /** Characters per line (an identity is ≤ ~2 KB even with a 2,048-character key cell). */
  maxLineChars: 16 * 1024,
  /** User and key entries. */
  maxEntries: 50_000_000,
} as const;

const ISO_TIME = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a time');

const HeaderSchema = z.strictObject({
  schemaVersion: z.literal(RUN_STATE_VERSION),
  kind: z.literal(RUN_STATE_KIND),
  generatedAt: ISO_TIME,
});

const EntrySchema = z.tuple([
  z.enum(['u', 'k']),
  z.string().min(1).max(RUN_STATE_BOUNDS.maxLineChars),
  z.record(z.string().max(64), ISO_TIME).refine((r) => Object.keys(r).length <= 64, 'too many findings'),
]);

/**
 * Writes a state file to `sink` (gzip applied here): {@link entry} per user and key as runMerge writes
 * them, then {@link end}. Backpressure as CsvWriter: `entry` returns a promise only when the caller must wait.
 */
export class RunStateWriter {
  private readonly gzip: Gzip;
  private readonly done: Promise<void>;
  private entries = 0;

  constructor(sink: NodeJS.WritableStream, generatedAt: string) {
    this.gzip = createGzip();
    this.done = new Promise<void>((resolve, reject) => {
      sink.on('finish', () => resolve());
      sink.on('error', reject);
      this.gzip.on('error', reject);
    });
    // Handled here so an aborted run (nobody awaits end()) is no unhandled rejection; end() still sees it.
    this.done.catch(() => undefined);
    this.gzip.pipe(sink as NodeJS.WritableStream);
    this.gzip.write(
      `${JSON.stringify({ schemaVersion: RUN_STATE_VERSION, kind: RUN_STATE_KIND, generatedAt })}\n`,
    );
  }

  /** One user (`u`) or key (`k`) with its open findings and when each was first seen. */
  entry(
    kind: 'u' | 'k',
    identity: string,
    findings: readonly FindingId[],
    firstSeen: (id: FindingId) => string,
  ): Promise<void> | undefined {
    const seen: Record<string, string> = {};
    for (const id of findings) seen[id] = firstSeen(id);
    this.entries++;
    if (this.gzip.write(`${JSON.stringify([kind, identity, seen])}\n`)) return undefined;
    return writable(this.gzip);
  }

  /** Entries written so far. */
  get count(): number {
    return this.entries;
  }

  /** Ends the file and waits until the sink has flushed. */
  async end(): Promise<void> {
    this.gzip.end();
    await this.done;
  }

  /** Gives up (the run failed): destroys the stream and, through it, the sink. */
  abort(error: Error): void {
    this.gzip.destroy(error);
    (this.gzip as unknown as { unpipe(): void }).unpipe();
  }
}

/** Counts decompressed bytes and fails the stream past `max`. */
function byteLimit(max: number): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > max) callback(new PreviousRunError(`previous state.json.gz is larger than ${max} bytes`));
      else callback(null, chunk);
    },
  });
}

/**
 * Reads a previous run's state.json.gz (streamed, gzip) into a {@link PreviousRun} for the delta and for
 * first_seen. `summary` (the previous summary.json) gives the accounts that were reporting, as for the CSV
 * reader; without it every account with entries counts as reporting. Throws PreviousRunError.
 */
export async function readPreviousState(files: {
  readonly state: NodeJS.ReadableStream;
  readonly summary?: PreviousSummary | Uint8Array | string;
}): Promise<PreviousRun> {
  const summary =
    typeof files.summary === 'string' || files.summary instanceof Uint8Array
      ? parsePreviousSummary(files.summary)
      : files.summary;
  const gunzip = createGunzip();
  const limit = byteLimit(RUN_STATE_BOUNDS.maxBytes);
  const fail = (cause: unknown): void => {
    const error =
      cause instanceof PreviousRunError
        ? cause
        : new PreviousRunError(
            `previous state.json.gz could not be read: ${cause instanceof Error ? cause.message : String(cause)}`,
            { cause },
          );
    limit.destroy(error);
  };
  files.state.on('error', fail);
  gunzip.on('error', fail);
  (files.state as Readable).pipe(gunzip).pipe(limit);
  const lines = createInterface({ input: limit, crlfDelay: Infinity });

  const users = new Map<string, number>();
  const keys = new Map<string, number>();
  const accounts = new Set<string>();
  const firstSeen = new Map<string, Partial<Record<FindingId, string>>>();
  const known = new Set<string>(FINDING_IDS);
  let generatedAt: string | undefined;
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.length > RUN_STATE_BOUNDS.maxLineChars) {
        throw new PreviousRunError(
          `previous state.json.gz line ${n} is longer than ${RUN_STATE_BOUNDS.maxLineChars} characters`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (cause) {
        throw new PreviousRunError(`previous state.json.gz line ${n} is not JSON`, { cause });
      }
      if (n === 1) {
        const header = HeaderSchema.safeParse(json);
        if (!header.success) {
          throw new PreviousRunError(
            `previous state.json.gz has no credreport state header (schemaVersion ${RUN_STATE_VERSION})`,
            { cause: header.error },
          );
        }
        generatedAt = header.data.generatedAt;
        continue;
      }
      if (n - 1 > RUN_STATE_BOUNDS.maxEntries) {
        throw new PreviousRunError(
          `previous state.json.gz has more than ${RUN_STATE_BOUNDS.maxEntries} entries`,
        );
      }
      const entry = EntrySchema.safeParse(json);
      if (!entry.success) {
        throw new PreviousRunError(`previous state.json.gz line ${n} is not a state entry`, {
          cause: entry.error,
        });
      }
      const [kind, identity, seen] = entry.data;
      const names = Object.keys(seen);
      const mask = findingMask(names);
      (kind === 'u' ? users : keys).set(identity, mask);
      const tab = identity.indexOf('\t');
      if (kind === 'u') accounts.add(tab < 0 ? identity : identity.slice(0, tab));
      if (names.length > 0) {
        const kept: Partial<Record<FindingId, string>> = {};
        for (const name of names) if (known.has(name)) kept[name as FindingId] = seen[name];
        firstSeen.set(identity, kept);
      }
    }
  } catch (error) {
    (files.state as Readable).destroy?.();
    throw error instanceof PreviousRunError
      ? error
      : new PreviousRunError(`previous state.json.gz could not be read`, { cause: error });
  }
  if (generatedAt === undefined) throw new PreviousRunError('previous state.json.gz is empty');
  const reportingAccounts = summary
    ? new Set(summary.byAccount.filter((a) => a.status === 'reporting').map((a) => a.accountId))
    : accounts;
  return {
    generatedAt: summary?.generatedAt ?? generatedAt,
    users,
    keys,
    accounts,
    reportingAccounts,
    firstSeen,
  };
}
