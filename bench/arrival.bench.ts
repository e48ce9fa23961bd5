/**
 * The organization's daily arrival at the hub: 10,000 accounts' reports (the digest bench's synthetic
 * organization, plus a share of large accounts whose reports need several parts), split by the real
 * `splitReport`, each account starting at its real `startOffsetMs` in the start window, fed to the real
 * `ingestEvent` through a model of the ingest Lambda's async queue at the configured reserved concurrency
 * (test/unit/aggregator/support/async-lambda.ts: throttled events retried 1 s, 2 s, … capped at 5 min,
 * function errors retried after 1 and 2 min, events older than 6 h dropped), over the in-memory S3 double
 * with a simulated latency on every request. Time is virtual: the figures are simulated seconds, and the
 * wall and CPU time of the simulation itself are reported beside them.
 *
 * Model of an agent run: the schedule fires at t = 0 in every account; the account waits its offset, then
 * collects for 3–15 s (seeded, uniform) plus 1.7 ms per user (the agent bench's rate), and its parts reach
 * the bus together at the end of the collection. A share of parts is delivered a second time, up to 2 min
 * later (Lambda's queue delivers at least once).
 *
 * The run fails (throws) unless every account's report is stored exactly once and equals what was sent.
 * `npm run bench -- --only arrival [--arrival-accounts 10000] [--arrival-users 10]
 *  [--arrival-big-accounts 50] [--arrival-big-users 8000] [--arrival-window-minutes 4]
 *  [--arrival-compare-window-minutes 0] [--arrival-concurrency 10] [--arrival-latency-ms 20]
 *  [--arrival-duplicate-permille 10] [--seed 1]`.
 */
import { isDeepStrictEqual } from 'node:util';
import { IngestOutcome, ingestEvent } from '../aggregator/ingest';
import { INGEST_METRICS } from '../aggregator/telemetry';
import { splitReport } from '../core/event-contract';
import {
  DEFAULT_INGEST_RESERVED_CONCURRENCY,
  DEFAULT_MAX_ENTRY_BYTES,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  S3_LAYOUT,
} from '../core/names';
import { syntheticOrganization } from '../core/sample-org';
import { DEFAULT_AGENT_START_WINDOW_MINUTES, startOffsetMs } from '../core/start-window';
import { AccountReport } from '../core/types';
import { createHubStores } from '../store/hub-stores';
import { AsyncLambda, VirtualClock } from '../test/unit/aggregator/support/async-lambda';
import { MemoryS3, memoryS3Client } from '../test/unit/aggregator/support/memory-s3';
import { metricSum, recordingMetrics, silentLogger } from '../test/unit/aggregator/support/reports';
import { prng } from '../test/unit/collector/fixtures';
import { BenchModule, BenchRow, timed } from './harness';

/** The schedule's tick, t = 0 of the simulation. */
const TICK_MS = Date.parse('2026-11-21T06:00:00Z');
const MS_PER_USER = 1.7;

interface Sent {
  readonly report: AccountReport;
  readonly reportId: string;
  readonly arrivalMs: number;
  readonly events: readonly Record<string, unknown>[];
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const users = (report: AccountReport): number => report.credentialReportCsv.split('\n').length - 2;

/** The reports of the organization: `big` large accounts first (same ids as the synthetic org), then the rest. */
function organizationReports(opts: {
  accounts: number;
  users: number;
  big: number;
  bigUsers: number;
  seed: number;
}): AccountReport[] {
  const now = new Date(TICK_MS);
  const small = syntheticOrganization({
    accounts: opts.accounts,
    usersPerAccount: opts.users,
    seed: opts.seed,
    now,
  });
  const large = syntheticOrganization({
    accounts: Math.min(opts.big, opts.accounts),
    usersPerAccount: opts.bigUsers,
    seed: opts.seed,
    now,
  });
  const bigById = new Map([...large.reports].map((r) => [r.accountId, r]));
  return [...small.reports].map((r) => bigById.get(r.accountId) ?? r);
}

/** Each account's run within `windowMs`: its report as collected then, split, as EventBridge events. */
function schedule(reports: readonly AccountReport[], windowMs: number, seed: number): Sent[] {
  return reports.map((template, i) => {
    const rand = prng(seed * 7_919 + i);
    const startMs = TICK_MS + startOffsetMs(template.accountId, windowMs);
    const arrivalMs = Math.round(startMs + 3_000 + rand() * 12_000 + users(template) * MS_PER_USER);
    // IAM dates the credential report in whole seconds, 2 s into the run.
    const generatedMs = Math.floor((startMs + 2_000) / 1_000) * 1_000;
    const report: AccountReport = {
      ...template,
      generatedTime: new Date(generatedMs).toISOString(),
      collectedTime: new Date(arrivalMs).toISOString(),
    };
    const parts = splitReport(report, { maxEntryBytes: DEFAULT_MAX_ENTRY_BYTES });
    // EventBridge's `time` has whole seconds.
    const time = new Date(Math.floor(arrivalMs / 1_000) * 1_000).toISOString().replace('.000Z', 'Z');
    const events = parts.map((detail, p) => ({
      version: '0',
      id: `${report.accountId}-${p}`,
      'detail-type': EVENT_DETAIL_TYPE,
      source: EVENT_SOURCE,
      account: report.accountId,
      time,
      region: 'us-east-1',
      resources: [],
      detail,
    }));
    return { report, reportId: parts[0]?.reportId ?? '', arrivalMs, events };
  });
}

interface Simulation {
  readonly windowMinutes: number;
  readonly concurrency: number;
  readonly latencyMs: number;
  readonly duplicatePermille: number;
  readonly seed: number;
}

async function simulate(reports: readonly AccountReport[], sim: Simulation): Promise<BenchRow> {
  const sent = schedule(reports, sim.windowMinutes * 60_000, sim.seed);
  const clock = new VirtualClock(TICK_MS);
  const memory = new MemoryS3();
  memory.recordKeys = false;
  const s3 = memoryS3Client(memory);
  const direct = s3.send.bind(s3);
  let s3Requests = 0;
  (s3 as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    s3Requests++;
    await clock.sleep(sim.latencyMs);
    return direct(command as never);
  };
  const logger = silentLogger();
  const { metrics, recorded } = recordingMetrics();
  const stores = createHubStores(s3, { bucket: 'bench-bucket', logger, sleep: clock.sleep });
  const storedAt = new Map<string, number[]>();
  const outcomes: Record<string, number> = {};
  const lambda = new AsyncLambda<Record<string, unknown>>({
    clock,
    reservedConcurrency: sim.concurrency,
    handler: async (event) => {
      const outcome: IngestOutcome = await ingestEvent(event, { stores, logger, metrics, now: clock.date });
      outcomes[outcome.status] = (outcomes[outcome.status] ?? 0) + 1;
      if (outcome.status === 'stored') {
        const times = storedAt.get(outcome.reportId) ?? [];
        times.push(clock.now);
        storedAt.set(outcome.reportId, times);
      }
    },
  });

  const rand = prng(sim.seed + 1);
  const arrivalsPerSecond = new Map<number, number>();
  let parts = 0;
  let duplicates = 0;
  for (const s of sent) {
    for (const event of s.events) {
      parts++;
      const second = Math.floor((s.arrivalMs - TICK_MS) / 1_000);
      arrivalsPerSecond.set(second, (arrivalsPerSecond.get(second) ?? 0) + 1);
      lambda.deliver(event, s.arrivalMs);
      if (rand() * 1_000 < sim.duplicatePermille) {
        duplicates++;
        lambda.deliver(event, s.arrivalMs + Math.floor(rand() * 120_000));
      }
    }
  }

  const cpuBefore = process.cpuUsage();
  const run = await timed(() => clock.run());
  const cpu = process.cpuUsage(cpuBefore);

  // Nothing lost: every report stored exactly once, and what is stored is what was sent.
  const problems: string[] = [];
  let storedOnce = 0;
  for (const s of sent) {
    const times = storedAt.get(s.reportId) ?? [];
    const text = memory.text(S3_LAYOUT.accountLatest(s.report.accountId));
    const stored = text === undefined ? undefined : (JSON.parse(text) as unknown);
    if (times.length === 1 && isDeepStrictEqual(stored, s.report)) storedOnce++;
    else if (problems.length < 5) problems.push(`${s.report.accountId}: stored ${times.length} times`);
  }
  if (storedOnce !== sent.length || lambda.stats.lost > 0) {
    throw new Error(
      `arrival bench: ${storedOnce}/${sent.length} reports stored exactly once, ${lambda.stats.lost} events lost (${problems.join('; ')})`,
    );
  }

  const lastStoredMs = Math.max(...[...storedAt.values()].flat());
  const arrivals = sent.map((s) => s.arrivalMs);
  const firstArrival = Math.min(...arrivals);
  const lastArrival = Math.max(...arrivals);
  const latencies = [...lambda.stats.latenciesMs].sort((a, b) => a - b);
  const bigParts = sent.filter((s) => s.events.length > 1);
  return {
    name: `arrival: ${sent.length.toLocaleString('en-US')} reports (${parts.toLocaleString('en-US')} parts) in a ${sim.windowMinutes}-minute start window, ingest reserved concurrency ${sim.concurrency}, S3 latency ${sim.latencyMs} ms`,
    metrics: {
      reportsStoredExactlyOnce: `${storedOnce}/${sent.length}`,
      eventsLost: lambda.stats.lost,
      allAssembledAfterS: seconds(lastStoredMs - TICK_MS),
      lastArrivalS: seconds(lastArrival - TICK_MS),
      firstArrivalS: seconds(firstArrival - TICK_MS),
      drainAfterLastArrivalS: seconds(lastStoredMs - lastArrival),
      peakPartsArrivingInOneSecond: Math.max(...arrivalsPerSecond.values()),
      peakConcurrentIngests: lambda.stats.peakConcurrent,
      reservedConcurrency: sim.concurrency,
      deliveries: lambda.stats.deliveries,
      duplicateDeliveries: duplicates,
      multiPartReports: bigParts.length,
      invocations: lambda.stats.invocations,
      throttles: lambda.stats.throttles,
      eventsThrottled: lambda.stats.eventsThrottled,
      maxThrottlesOfOneEvent: lambda.stats.maxThrottlesOfOneEvent,
      functionErrors: lambda.stats.functionErrors,
      errorRetries: lambda.stats.errorRetries,
      meanIngestMs: Math.round(lambda.stats.busyMs / Math.max(1, lambda.stats.invocations)),
      deliveryToDoneP50S: seconds(percentile(latencies, 0.5)),
      deliveryToDoneP99S: seconds(percentile(latencies, 0.99)),
      deliveryToDoneMaxS: seconds(latencies.at(-1) ?? 0),
      s3RequestsPerInvocation: Number((s3Requests / Math.max(1, lambda.stats.invocations)).toFixed(1)),
      outcomes: Object.entries(outcomes)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      duplicatePartsMetric: metricSum(recorded, INGEST_METRICS.duplicateParts),
      simulationWallMs: Math.round(run.ms),
      simulationCpuMs: Math.round((cpu.user + cpu.system) / 1_000),
      virtualTimers: clock.steps,
      note: 'simulated (virtual) seconds from the schedule tick; wall/CPU are the simulation itself. Throttled events retry after 1 s doubling to 5 min (no jitter); every S3 request takes the latency',
    },
  };
}

export const arrivalBench: BenchModule = {
  name: 'arrival',
  async run(options): Promise<BenchRow[]> {
    const seed = options.int('seed', 1);
    const windowMinutes = options.int('arrival-window-minutes', DEFAULT_AGENT_START_WINDOW_MINUTES);
    const compareWindowMinutes = options.int('arrival-compare-window-minutes', 0);
    const common = {
      concurrency: options.int('arrival-concurrency', DEFAULT_INGEST_RESERVED_CONCURRENCY),
      latencyMs: options.int('arrival-latency-ms', 20),
      duplicatePermille: options.int('arrival-duplicate-permille', 10),
      seed,
    };
    const generated = await timed(async () =>
      organizationReports({
        accounts: options.int('arrival-accounts', 10_000),
        users: options.int('arrival-users', 10),
        big: options.int('arrival-big-accounts', 50),
        bigUsers: options.int('arrival-big-users', 8_000),
        seed,
      }),
    );
    process.stderr.write(
      `bench: arrival: ${generated.value.length} reports generated in ${Math.round(generated.ms)} ms\n`,
    );
    const rows: BenchRow[] = [];
    for (const minutes of [...new Set([windowMinutes, compareWindowMinutes])]) {
      rows.push(await simulate(generated.value, { ...common, windowMinutes: minutes }));
      global.gc?.();
    }
    return rows;
  },
};
