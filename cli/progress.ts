/**
 * Progress of a long CLI run over many items (accounts). On a terminal: one line redrawn in place with
 * `\r` — a bar, done/total, failures, elapsed time and an ETA. Anywhere else (CI logs, a pipe): a plain
 * line every `intervalMs`, plus one at the end, so a log shows the run advancing without a line per item.
 */

/** The stream progress is drawn on (stderr, so stdout stays clean for data). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProgressOptions {
  readonly stream: ProgressStream;
  /** Prefix of every line, e.g. `collect`. */
  readonly label: string;
  readonly total: number;
  /** Plural noun of the items. @default 'accounts' */
  readonly unit?: string;
  /** Draw the in-place bar. @default stream.isTTY */
  readonly tty?: boolean;
  /** Milliseconds clock. @default Date.now */
  readonly clock?: () => number;
  /** Non-terminal: at most one line per this many milliseconds. @default 10000 */
  readonly intervalMs?: number;
  /** Terminal: redraw at least this often so elapsed/ETA move while items are slow; 0 disables. @default 1000 */
  readonly refreshMs?: number;
  /** Draw nothing (`--quiet`); {@link Progress.log} still prints. @default false */
  readonly quiet?: boolean;
}

/** `65_000` → `1:05`, `3_725_000` → `1:02:05`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const BAR_WIDTH = 24;
/** Terminal redraws closer together than this are skipped (a fast run would otherwise flood the tty). */
const MIN_REDRAW_MS = 100;

export class Progress {
  private readonly stream: ProgressStream;
  private readonly label: string;
  private readonly total: number;
  private readonly unit: string;
  private readonly tty: boolean;
  private readonly clock: () => number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private readonly quiet: boolean;
  private done = 0;
  private failed = 0;
  private lastDrawAt = -Infinity;
  private lastLineLength = 0;
  /** `done` at the last plain line, so `finish` does not repeat an identical line. */
  private lastPrintedDone = -1;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ProgressOptions) {
    this.stream = options.stream;
    this.label = options.label;
    this.total = options.total;
    this.unit = options.unit ?? 'accounts';
    this.quiet = options.quiet === true;
    this.tty = !this.quiet && (options.tty ?? options.stream.isTTY === true);
    this.clock = options.clock ?? Date.now;
    this.intervalMs = options.intervalMs ?? 10_000;
    this.startedAt = this.clock();
    if (this.tty) {
      this.draw();
      const refreshMs = options.refreshMs ?? 1000;
      if (refreshMs > 0) {
        this.timer = setInterval(() => this.draw(), refreshMs);
        this.timer.unref();
      }
    } else {
      this.lastDrawAt = this.startedAt;
    }
  }

  /** Counts one finished item. */
  tick(outcome: 'ok' | 'failed'): void {
    if (this.finished) return;
    this.done++;
    if (outcome === 'failed') this.failed++;
    const now = this.clock();
    if (this.tty ? now - this.lastDrawAt >= MIN_REDRAW_MS : now - this.lastDrawAt >= this.intervalMs) {
      this.draw();
    }
  }

  /** Prints a message on its own line without breaking the bar (it is redrawn below the message). */
  log(message: string): void {
    if (this.tty && !this.finished) {
      this.stream.write(`\r${' '.repeat(this.lastLineLength)}\r${message}\n`);
      this.lastLineLength = 0;
      this.draw();
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Draws the final state and ends the line; further ticks are ignored. */
  finish(): void {
    if (this.finished) return;
    if (this.timer) clearInterval(this.timer);
    if (this.tty || this.done !== this.lastPrintedDone) this.draw();
    if (this.tty) this.stream.write('\n');
    this.finished = true;
  }

  /**
   * Stops without a final line: on a terminal the bar is wiped, so what is printed next (an interrupted
   * run's message) starts on a clean line. Further ticks are ignored.
   */
  abort(): void {
    if (this.finished) return;
    if (this.timer) clearInterval(this.timer);
    if (this.tty) this.stream.write(`\r${' '.repeat(this.lastLineLength)}\r`);
    this.finished = true;
  }

  /** The current status as one plain line (what non-terminal output prints). */
  plainLine(): string {
    const failed = this.failed > 0 ? `, ${this.failed} failed` : '';
    return `${this.label}: ${this.done}/${this.total} ${this.unit}${failed}, ${formatDuration(this.elapsed())} elapsed`;
  }

  /** The current status as the terminal bar line (without `\r`). */
  barLine(): string {
    const ratio = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    const elapsed = this.elapsed();
    const eta =
      this.done === 0 ? '--:--' : formatDuration((elapsed / this.done) * Math.max(0, this.total - this.done));
    const failed = this.failed > 0 ? `  ${this.failed} failed` : '';
    const line =
      `${this.label} ${bar} ${this.done}/${this.total} ${this.unit}${failed}` +
      `  ${formatDuration(elapsed)} elapsed  ETA ${eta}`;
    const columns = this.stream.columns;
    return columns && columns > 1 && line.length >= columns ? line.slice(0, columns - 1) : line;
  }

  private elapsed(): number {
    return this.clock() - this.startedAt;
  }

  private draw(): void {
    if (this.finished || this.quiet) return;
    this.lastDrawAt = this.clock();
    if (this.tty) {
      const line = this.barLine();
      // Pad over the previous line instead of an ANSI clear, so dumb terminals render it too.
      this.stream.write(`\r${line}${' '.repeat(Math.max(0, this.lastLineLength - line.length))}`);
      this.lastLineLength = line.length;
    } else {
      this.lastPrintedDone = this.done;
      this.stream.write(`${this.plainLine()}\n`);
    }
  }
}
