/**
 * A virtual-time model of an EventBridge target Lambda with reserved concurrency, for the arrival bench and
 * the ingest retry tests: the real handler runs, only time is simulated.
 *
 * - `VirtualClock`: `sleep(ms)` registers a timer; `run()` lets every pending promise chain settle, then
 *   jumps to the earliest timer, until none is left. Work that waits only on the clock (the S3 double's
 *   latency, the store's retry backoff) therefore takes simulated time and no real time.
 * - `AsyncLambda`: what Lambda documents for asynchronous invocation (invocation-async-error-handling):
 *   an event that finds every reserved instance busy is throttled and put back in the queue, retried after
 *   1 s, 2 s, 4 s … capped at 5 minutes, for up to the maximum event age (6 hours), after which it is
 *   dropped (lost); a function error is retried `retryAttempts` times, 1 and then 2 minutes later, and then
 *   goes to the failure destination (lost for ingest). Simplifications: no jitter (events throttled
 *   together retry together, which is pessimistic), no slowdown of the queue reader, EventBridge's own
 *   retry policy never comes into play (Lambda's async queue accepts every event).
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** A binary min-heap of timers by time, then by registration order (so equal times stay FIFO). */
class TimerHeap {
  private readonly items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(timer: Timer): void {
    const a = this.items;
    a.push(timer);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i] as Timer, a[parent] as Timer)) break;
      [a[i], a[parent]] = [a[parent] as Timer, a[i] as Timer];
      i = parent;
    }
  }
  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l] as Timer, a[m] as Timer)) m = l;
        if (r < a.length && before(a[r] as Timer, a[m] as Timer)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Timer, a[i] as Timer];
        i = m;
      }
    }
    return top;
  }
}
const before = (x: Timer, y: Timer): boolean => x.at < y.at || (x.at === y.at && x.seq < y.seq);

/** Lets every promise chain that does not wait on a timer run to its next wait (or its end). */
const settle = async (): Promise<void> => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
};

export class VirtualClock {
  private readonly timers = new TimerHeap();
  private seq = 0;
  /** Timers fired so far (a measure of the simulation's work). */
  steps = 0;

  constructor(public now: number) {}

  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      this.timers.push({ at: this.now + Math.max(0, ms), seq: this.seq++, resolve });
    });

  /** Runs `fn` at virtual time `at` (now, if `at` has passed). */
  at(at: number, fn: () => void): void {
    void this.sleep(at - this.now).then(fn);
  }

  readonly date = (): Date => new Date(this.now);

  /** Advances through every timer until nothing is pending. */
  async run(): Promise<void> {
    await settle();
    for (;;) {
      const next = this.timers.peek();
      if (!next) return;
      this.now = Math.max(this.now, next.at);
      // Every timer due now fires before anything settles, as real timers of one instant would.
      while (this.timers.peek()?.at === next.at) {
        (this.timers.pop() as Timer).resolve();
        this.steps++;
      }
      await settle();
    }
  }
}

export interface AsyncLambdaOptions<E> {
  readonly clock: VirtualClock;
  /** Most invocations running at once (the function's reserved concurrency). */
  readonly reservedConcurrency: number;
  /** The real handler. */
  readonly handler: (event: E) => Promise<unknown>;
  /** Oldest event Lambda still tries to invoke. @default 6 hours */
  readonly maxEventAgeMs?: number;
  /** Retries after a function error. @default 2 */
  readonly retryAttempts?: number;
}

export interface AsyncLambdaStats {
  /** Events handed to the queue (each delivery, duplicates included). */
  deliveries: number;
  /** Handler runs started. */
  invocations: number;
  /** Invocation attempts refused for want of concurrency. */
  throttles: number;
  /** Events throttled at least once. */
  eventsThrottled: number;
  /** Most throttles of one event. */
  maxThrottlesOfOneEvent: number;
  /** Handler runs that threw. */
  functionErrors: number;
  /** Handler runs that were a retry after a function error. */
  errorRetries: number;
  /** Events dropped: too old, or still failing after the retries (the DLQ/on-failure destination). */
  lost: number;
  /** Most handler runs in progress at one time. */
  peakConcurrent: number;
  /** Simulated time spent in handler runs, summed over runs. */
  busyMs: number;
  /** Time from each delivery to the end of its successful run, in ms, in completion order. */
  readonly latenciesMs: number[];
}

/** An asynchronously invoked Lambda function over a virtual clock (see the module comment). */
export class AsyncLambda<E> {
  readonly stats: AsyncLambdaStats = {
    deliveries: 0,
    invocations: 0,
    throttles: 0,
    eventsThrottled: 0,
    maxThrottlesOfOneEvent: 0,
    functionErrors: 0,
    errorRetries: 0,
    lost: 0,
    peakConcurrent: 0,
    busyMs: 0,
    latenciesMs: [],
  };
  private running = 0;
  private readonly maxEventAgeMs: number;
  private readonly retryAttempts: number;

  constructor(private readonly opts: AsyncLambdaOptions<E>) {
    if (!Number.isInteger(opts.reservedConcurrency) || opts.reservedConcurrency < 1) {
      throw new Error(`AsyncLambda: reservedConcurrency must be a positive integer`);
    }
    this.maxEventAgeMs = opts.maxEventAgeMs ?? 6 * 3_600_000;
    this.retryAttempts = opts.retryAttempts ?? 2;
  }

  /** Hands `event` to the function's async queue at virtual time `at`. */
  deliver(event: E, at: number): void {
    this.opts.clock.at(at, () => {
      this.stats.deliveries++;
      this.attempt(event, this.opts.clock.now, 0, 0);
    });
  }

  private attempt(event: E, deliveredAt: number, throttles: number, errors: number): void {
    const { clock } = this.opts;
    if (clock.now - deliveredAt > this.maxEventAgeMs) {
      this.stats.lost++;
      return;
    }
    if (this.running >= this.opts.reservedConcurrency) {
      this.stats.throttles++;
      if (throttles === 0) this.stats.eventsThrottled++;
      this.stats.maxThrottlesOfOneEvent = Math.max(this.stats.maxThrottlesOfOneEvent, throttles + 1);
      const delay = Math.min(300_000, 1_000 * 2 ** throttles);
      clock.at(clock.now + delay, () => this.attempt(event, deliveredAt, throttles + 1, errors));
      return;
    }
    this.running++;
    this.stats.invocations++;
    if (errors > 0) this.stats.errorRetries++;
    this.stats.peakConcurrent = Math.max(this.stats.peakConcurrent, this.running);
    const startedAt = clock.now;
    this.opts.handler(event).then(
      () => {
        this.running--;
        this.stats.busyMs += clock.now - startedAt;
        this.stats.latenciesMs.push(clock.now - deliveredAt);
      },
      () => {
        this.running--;
        this.stats.busyMs += clock.now - startedAt;
        this.stats.functionErrors++;
        if (errors >= this.retryAttempts) {
          this.stats.lost++;
          return;
        }
        // Lambda waits 1 minute before the first retry and 2 before the second.
        clock.at(clock.now + 60_000 * (errors + 1), () =>
          this.attempt(event, deliveredAt, throttles, errors + 1),
        );
      },
    );
  }
}
