/**
 * Ingest under the delivery EventBridge and Lambda actually give: parts of many accounts at once, in any
 * order, some delivered more than once, through a function with little reserved concurrency (throttled
 * and retried by Lambda's async queue) and a transient S3 failure (a function error, retried a minute
 * later). Every account's report must be stored once, and nothing may be lost or refused.
 */
import { IngestOutcome, ingestEvent } from '../../../aggregator/ingest';
import { INGEST_METRICS } from '../../../aggregator/telemetry';
import { PartDetail, reportIdFor } from '../../../core/event-contract';
import { S3_LAYOUT } from '../../../core/names';
import { AccountReport } from '../../../core/types';
import { createHubStores } from '../../../store/hub-stores';
import { AsyncLambda, VirtualClock } from './support/async-lambda';
import { MemoryS3, memoryS3Client, s3Error } from './support/memory-s3';
import {
  accountReport,
  metricSum,
  partEvent,
  partsOf,
  recordingMetrics,
  silentLogger,
} from './support/reports';

const NOW = Date.parse('2026-11-21T06:00:00Z');
const ACCOUNTS = Array.from({ length: 6 }, (_, i) => String(222_222_222_200 + i));
const S3_LATENCY_MS = 20;

/** mulberry32: a fixed shuffle and fixed duplicates, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Delivery {
  readonly event: Record<string, unknown>;
  readonly at: number;
}

/**
 * Every part of every account's report as EventBridge events, each delivered once more with probability
 * `duplicateShare` (the same event, id included, up to a minute later), in shuffled order within 200 ms.
 */
function deliveries(reports: readonly AccountReport[], seed: number, duplicateShare: number): Delivery[] {
  const rand = prng(seed);
  const events = reports.flatMap((report) =>
    partsOf(report).map((part: PartDetail) => partEvent(part, report.accountId)),
  );
  const out: Delivery[] = [];
  for (const event of shuffle(events, rand)) {
    const at = NOW + Math.floor(rand() * 200);
    out.push({ event, at });
    if (rand() < duplicateShare) out.push({ event, at: at + Math.floor(rand() * 60_000) });
  }
  return out;
}

function simulation(reservedConcurrency: number) {
  const clock = new VirtualClock(NOW);
  const memory = new MemoryS3();
  const s3 = memoryS3Client(memory);
  const direct = s3.send.bind(s3);
  // Every S3 request takes simulated time, so invocations overlap as they would against S3.
  (s3 as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
    await clock.sleep(S3_LATENCY_MS);
    return direct(command as never);
  };
  const logger = silentLogger();
  const { metrics, recorded } = recordingMetrics();
  const stores = createHubStores(s3, { bucket: 'hub-bucket', logger, sleep: clock.sleep });
  const outcomes: IngestOutcome[] = [];
  const lambda = new AsyncLambda<Record<string, unknown>>({
    clock,
    reservedConcurrency,
    handler: async (event) => {
      outcomes.push(await ingestEvent(event, { stores, logger, metrics, now: clock.date }));
    },
  });
  return { clock, memory, lambda, outcomes, recorded };
}

const latestOf = (memory: MemoryS3, accountId: string): AccountReport | undefined => {
  const text = memory.text(S3_LAYOUT.accountLatest(accountId));
  return text ? (JSON.parse(text) as AccountReport) : undefined;
};

describe('ingest under throttled, retried and duplicated delivery', () => {
  const reports = ACCOUNTS.map((id, i) => accountReport(id, new Date(NOW), 1 + i / 10));

  it('stores each account report exactly once when shuffled parts and duplicates are throttled and retried', async () => {
    const sim = simulation(2);
    const sent = deliveries(reports, 7, 0.5);
    expect(sent.length).toBeGreaterThan(reports.length * 3 * 1.3);
    for (const d of sent) sim.lambda.deliver(d.event, d.at);
    await sim.clock.run();

    // The delivery really was hostile: throttled, retried, duplicated, parts of one account interleaved.
    expect(sim.lambda.stats.throttles).toBeGreaterThan(sent.length);
    expect(sim.lambda.stats.eventsThrottled).toBeGreaterThan(0);
    expect(sim.lambda.stats.maxThrottlesOfOneEvent).toBeGreaterThan(2);
    expect(sim.lambda.stats.peakConcurrent).toBe(2);
    expect(metricSum(sim.recorded, INGEST_METRICS.duplicateParts)).toBeGreaterThan(0);

    expect(sim.lambda.stats.lost).toBe(0);
    expect(sim.lambda.stats.functionErrors).toBe(0);
    expect(sim.outcomes).toHaveLength(sent.length);
    for (const report of reports) {
      const reportId = reportIdFor(report.accountId, report.generatedTime);
      const stored = sim.outcomes.filter((o) => o.status === 'stored' && o.reportId === reportId);
      expect(stored).toHaveLength(1);
      expect(latestOf(sim.memory, report.accountId)).toEqual(report);
      expect(sim.memory.text(S3_LAYOUT.accountRejected(report.accountId))).toBeUndefined();
    }
    expect(sim.outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(metricSum(sim.recorded, INGEST_METRICS.reportsStored)).toBe(reports.length);
  });

  it('stores each report once when a transient S3 failure makes Lambda retry an invocation a minute later', async () => {
    const sim = simulation(3);
    const victim = ACCOUNTS[2] as string;
    let failed = 0;
    // The first two writes of the victim's parts fail as S3 throttling would (503 SlowDown).
    sim.memory.hooks.push((operation, input) => {
      const key = String(input.Key ?? '');
      if (operation === 'PutObject' && key.startsWith(`incoming/${victim}/`) && failed < 2) {
        failed++;
        throw s3Error('SlowDown', 503);
      }
    });
    const sent = deliveries(reports, 11, 0.3);
    for (const d of sent) sim.lambda.deliver(d.event, d.at);
    await sim.clock.run();

    expect(failed).toBe(2);
    expect(sim.lambda.stats.functionErrors).toBe(2);
    expect(sim.lambda.stats.errorRetries).toBe(2);
    expect(sim.lambda.stats.lost).toBe(0);
    // The retries come a minute after the failures: the last report is stored after that.
    expect(sim.clock.now - NOW).toBeGreaterThanOrEqual(60_000);
    for (const report of reports) {
      const reportId = reportIdFor(report.accountId, report.generatedTime);
      expect(sim.outcomes.filter((o) => o.status === 'stored' && o.reportId === reportId)).toHaveLength(1);
      expect(latestOf(sim.memory, report.accountId)).toEqual(report);
    }
    expect(sim.outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
  });

  it('counts an event as lost when it stays throttled past the maximum event age', async () => {
    // One slot, an invocation that holds it for 10 virtual minutes, and a 5-minute maximum age.
    const clock = new VirtualClock(NOW);
    const lambda = new AsyncLambda<string>({
      clock,
      reservedConcurrency: 1,
      maxEventAgeMs: 300_000,
      handler: (event) => clock.sleep(event === 'slow' ? 600_000 : 1),
    });
    lambda.deliver('slow', NOW);
    lambda.deliver('starved', NOW + 1);
    await clock.run();
    expect(lambda.stats.lost).toBe(1);
    expect(lambda.stats.latenciesMs).toEqual([600_000]);
    expect(lambda.stats.throttles).toBeGreaterThan(5);
  });
});
