/** One measured figure set of a benchmark; printed as a table row and as JSON. */
export interface BenchRow {
  /** e.g. `core: 10,000 accounts x 50 users`. */
  readonly name: string;
  readonly metrics: Readonly<Record<string, number | string>>;
}

/** Options every bench module receives (parsed from `npm run bench -- --key value`). */
export interface BenchOptions {
  readonly args: Readonly<Record<string, string>>;
  /** Integer option with a default. */
  int(name: string, fallback: number): number;
}

export interface BenchModule {
  readonly name: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}

/** Samples resident set size every `intervalMs` while `fn` runs; returns its result and the peak in MB. */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
  intervalMs = 50,
): Promise<{ value: T; peakRssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakRssMb: Math.round(peak / 1024 / 1024) };
  } finally {
    clearInterval(timer);
  }
}

/** Wall time of `fn` in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}
