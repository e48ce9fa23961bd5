import { pipeline } from 'node:stream/promises';
import { stringify, Stringifier } from 'csv-stringify';
import { neutraliseCell } from './csv-safety';
import { CredreportError } from './errors';

/** Writing a CSV to its sink failed (the sink errored or was closed early). */
export class CsvWriteError extends CredreportError {}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * A streaming CSV writer: a header row, then one row per `write`. Every cell goes through
 * `neutraliseCell` (formula injection) and csv-stringify (quoting), and the stream's backpressure is
 * respected, so memory stays flat however many rows are written.
 */
export interface CsvWriter {
  /**
   * Queues one row (same length as the header). Returns a promise only when the stream is full and
   * the caller must wait before writing more; `undefined` means carry on. Callers in a loop do
   * `const wait = writer.write(row); if (wait) await wait;` — no promise per row on the fast path.
   */
  write(cells: readonly string[]): Promise<void> | undefined;
  /** Ends the CSV, ends the sink and resolves once the sink has flushed ('finish'). */
  end(): Promise<void>;
  /** Gives up: destroys the CSV stream and, through it, the sink (which sees `error`). Idempotent. */
  abort(error: Error): void;
  /** Data rows written so far (header excluded). */
  readonly rows: number;
}

/**
 * Starts a CSV on `sink` with `header` (neutralised like every other cell). The sink is ended by `end()`
 * (or destroyed on error, in which case `write`/`end` reject with a {@link CsvWriteError} keeping the cause).
 */
export function createCsvWriter(sink: NodeJS.WritableStream, header: readonly string[]): CsvWriter {
  const width = header.length;
  // Quote every cell holding \n or a lone \r (CSV readers take both as line breaks), not only the
  // record delimiter: csv-stringify turns that off when record_delimiter is set, unless asked.
  const stringifier: Stringifier = stringify({ record_delimiter: 'unix', quote_record_delimiter: true });
  const done = pipeline(stringifier, sink).catch((cause: unknown) => {
    // The sink's own message (ENOSPC, AccessDenied, …) is what the operator needs to see.
    throw new CsvWriteError(`writing CSV failed: ${causeText(cause)}`, { cause });
  });
  // Keep the rejection observed until someone awaits `done`, so an early sink error is not "unhandled".
  done.catch(() => undefined);
  let rows = 0;
  let ended = false;

  // The stream is gone (the sink failed, or abort): rejects with the sink's error once `done` has it.
  const closed = (): Promise<never> =>
    done.then(() => {
      throw new CsvWriteError('CSV stream closed before the end');
    });

  // One listener pair per backpressure episode, removed when it ends (no reaction piles up on `done`).
  const drained = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const off = (): void => {
        stringifier.off('drain', onDrain);
        stringifier.off('close', onClose);
      };
      const onDrain = (): void => {
        off();
        resolve();
      };
      const onClose = (): void => {
        off();
        closed().catch(reject);
      };
      stringifier.on('drain', onDrain);
      stringifier.on('close', onClose);
    });

  const push = (cells: readonly string[]): Promise<void> | undefined => {
    // A destroyed stream never emits 'drain' or 'close' again: waiting for either would hang forever.
    if (stringifier.destroyed) return closed();
    const record = new Array<string>(width);
    for (let i = 0; i < width; i++) record[i] = neutraliseCell(cells[i] ?? '');
    return stringifier.write(record) ? undefined : drained();
  };

  const headerWait = push(header);
  return {
    get rows() {
      return rows;
    },
    write(cells) {
      if (ended) throw new CsvWriteError('write after end');
      if (cells.length !== width) {
        throw new CsvWriteError(`row has ${cells.length} cells, header has ${width}`);
      }
      rows++;
      return push(cells);
    },
    abort(error) {
      ended = true;
      if (!stringifier.destroyed) stringifier.destroy(error);
    },
    async end() {
      if (ended) return done;
      ended = true;
      if (headerWait) await headerWait;
      stringifier.end();
      return done;
    },
  };
}
