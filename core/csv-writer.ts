import { pipeline } from 'node:stream/promises';
import { stringify, Stringifier } from 'csv-stringify';
import { neutraliseCell } from './csv-safety';
import { CredreportError } from './errors';

/** Writing a CSV to its sink failed (the sink errored or was closed early). */
export class CsvWriteError extends CredreportError {}

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

/** Options of {@link createCsvWriter}. */
export interface CsvWriterOptions {
  /** Neutralise cells against formula injection. @default true */
  readonly neutralise?: boolean;
}

/**
 * Starts a CSV on `sink` with `header`. The sink is ended by `end()` (or destroyed on error, in which
 * case `write`/`end` reject with a {@link CsvWriteError} keeping the cause).
 */
export function createCsvWriter(
  sink: NodeJS.WritableStream,
  header: readonly string[],
  options: CsvWriterOptions = {},
): CsvWriter {
  const neutralise = options.neutralise ?? true;
  const width = header.length;
  // csv-stringify quotes cells holding the delimiter, a quote or the record delimiter (\n), but not a
  // lone carriage return, which CSV readers take as a line break: quote those too.
  const stringifier: Stringifier = stringify({ record_delimiter: 'unix', quoted_match: /\r/ });
  const done = pipeline(stringifier, sink).catch((cause: unknown) => {
    throw new CsvWriteError('writing CSV failed', { cause });
  });
  // Keep the rejection observed until someone awaits `done`, so an early sink error is not "unhandled".
  done.catch(() => undefined);
  let rows = 0;
  let ended = false;

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
        done.then(() => reject(new CsvWriteError('CSV stream closed before it drained')), reject);
      };
      stringifier.on('drain', onDrain);
      stringifier.on('close', onClose);
    });

  const push = (cells: readonly string[]): Promise<void> | undefined => {
    const record = new Array<string>(width);
    for (let i = 0; i < width; i++) {
      const cell = cells[i] ?? '';
      record[i] = neutralise ? neutraliseCell(cell) : cell;
    }
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
