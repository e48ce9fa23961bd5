import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PartDetail, splitReport } from '../../../../core/event-contract';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../../../core/names';
import { buildAccountReport, SampleUser } from '../../../../core/sample-org';
import { AccountReport } from '../../../../core/types';

const HOUR_MS = 3_600_000;

/** A valid report of `accountId` generated `hoursAgo` before `now`, with enough users to need several parts. */
export function accountReport(accountId: string, now: Date, hoursAgo = 2, users = 12): AccountReport {
  const list: SampleUser[] = Array.from({ length: users }, (_, i) => ({
    name: `user-${i}`,
    createdDaysAgo: 400 + i,
    ...(i % 3 === 0 ? { password: { changedDaysAgo: 100, lastUsedDaysAgo: 3 } } : {}),
    mfa: i % 2 === 0,
    keys: [{ active: true, createdDaysAgo: 30 + i * 10, lastUsedDaysAgo: 1 }],
    privileges: {
      admin: i === 1,
      s3Read: i === 2,
      rdsRead: false,
      dynamodbRead: false,
      grantingPolicies: {},
    },
  }));
  return buildAccountReport({
    accountId,
    generatedMs: now.getTime() - hoursAgo * HOUR_MS,
    root: { createdDaysAgo: 2000, mfa: true },
    users: list,
    withPrivileges: true,
  });
}

/** Parts small enough that a dozen-user report needs several. */
export function partsOf(report: AccountReport, maxEntryBytes = 800): PartDetail[] {
  return splitReport(report, { maxEntryBytes });
}

let seq = 0;
/** When EventBridge received a part sent right after its report was collected (whole seconds, as AWS writes). */
function sentTime(detail: unknown): string {
  const collected = (detail as { collectedTime?: unknown } | null)?.collectedTime;
  const ms = typeof collected === 'string' ? Date.parse(collected) : Number.NaN;
  if (Number.isNaN(ms)) return '2026-11-21T05:00:00Z';
  return new Date(Math.ceil((ms + 1) / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** The EventBridge event carrying `detail`, sent by `account` (its `time`: just after the collection). */
export function partEvent(
  detail: unknown,
  account: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  seq++;
  return {
    version: '0',
    id: `evt-${seq}`,
    'detail-type': EVENT_DETAIL_TYPE,
    source: EVENT_SOURCE,
    account,
    time: sentTime(detail),
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
}

export const silentLogger = (): Logger => new Logger({ serviceName: 'test', logLevel: 'SILENT' });

/** A Metrics instance whose addMetric calls are recorded (nothing is printed). */
export function recordingMetrics(): {
  metrics: Metrics;
  recorded: { name: string; value: number; dimensions?: Record<string, string> }[];
} {
  const recorded: { name: string; value: number; dimensions?: Record<string, string> }[] = [];
  const build = (dimensions?: Record<string, string>): Metrics => {
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const dims: Record<string, string> = { ...dimensions };
    metrics.addMetric = ((name: string, _unit: unknown, value: number) => {
      recorded.push({ name, value, ...(Object.keys(dims).length > 0 ? { dimensions: { ...dims } } : {}) });
      return metrics;
    }) as Metrics['addMetric'];
    metrics.addDimension = ((name: string, value: string) => {
      dims[name] = value;
      return metrics;
    }) as Metrics['addDimension'];
    metrics.singleMetric = (() => build()) as Metrics['singleMetric'];
    metrics.publishStoredMetrics = (() => metrics) as Metrics['publishStoredMetrics'];
    return metrics;
  };
  return { metrics: build(), recorded };
}

/** Sum of a recorded metric. */
export const metricSum = (recorded: readonly { name: string; value: number }[], name: string): number =>
  recorded.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0);
