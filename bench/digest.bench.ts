/**
 * The digest Lambda's orchestration end to end, against fakes: 10,000 stored account reports in an
 * in-memory bucket with a simulated S3 read latency, and a fake Organizations with 10,000 accounts in
 * 50 OUs. Measures
 * - a full digest (cold metadata cache and no previous run, then warm with a delta against the first):
 *   wall and CPU time and peak RSS, plus the previous-run read alone (what the second run adds);
 * - reading the stored reports with bounded concurrency versus one at a time, as a ratio in one run
 *   (the serial pass reads a subset and is extrapolated linearly; the row says so);
 * - Organizations calls per digest, per operation, with a cold and with a warm metadata cache.
 * `npm run bench -- --only digest [--digest-accounts 10000] [--digest-users 10] [--digest-latency-ms 20]
 *  [--digest-concurrency 32] [--digest-serial-accounts 200] [--seed 1]`.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DigestConfig, runDigest } from '../aggregator/digest';
import { readPreviousRun } from '../core/previous-run';
import { readPreviousState } from '../core/run-state';
import { S3_LAYOUT } from '../core/names';
import { syntheticAccountId, syntheticOrganization } from '../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../core/thresholds';
import { AccountReport } from '../core/types';
import { createHubStores } from '../store/hub-stores';
import { LATEST_RUN } from '../store/run-output-store';
import {
  fakeOrganizationsClient,
  generatedOrganization,
} from '../test/unit/aggregator/support/fake-organizations';
import { MemoryS3, memoryS3Client } from '../test/unit/aggregator/support/memory-s3';
import { BenchModule, BenchRow, timed, withPeakRss } from './harness';

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);
const cpuMs = (usage: NodeJS.CpuUsage): number => Math.round((usage.user + usage.system) / 1000);

async function drain(iterable: AsyncIterable<AccountReport>): Promise<number> {
  let n = 0;
  for await (const report of iterable) if (report.accountId) n++;
  return n;
}

export const digestBench: BenchModule = {
  name: 'digest',
  async run(options): Promise<BenchRow[]> {
    const accounts = options.int('digest-accounts', 10_000);
    const users = options.int('digest-users', 10);
    const latencyMs = options.int('digest-latency-ms', 20);
    const concurrency = options.int('digest-concurrency', 32);
    const serialSample = Math.min(accounts, options.int('digest-serial-accounts', 200));
    const seed = options.int('seed', 1);
    const now = new Date('2026-11-21T06:00:00Z');

    // The bucket as ingest leaves it: one latest.json per account (the hub's own is collected in-process).
    const memory = new MemoryS3();
    memory.recordKeys = false;
    const synthetic = syntheticOrganization({ accounts, usersPerAccount: users, seed, now });
    const ownAccountId = syntheticAccountId(0);
    let ownReport: AccountReport | undefined;
    let stored = 0;
    for (const report of synthetic.reports) {
      if (report.accountId === ownAccountId) ownReport = report;
      else {
        memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
        stored++;
      }
    }
    const bucketBytes = [...memory.objects.values()].reduce((sum, o) => sum + o.body.length, 0);
    memory.getLatencyMs = latencyMs;

    const org = generatedOrganization({ accounts, accountId: syntheticAccountId });
    const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
    // EMF lines would flood the bench output; the figures are what matters here.
    const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const metrics = new Metrics({ namespace: 'Bench', serviceName: 'bench' });
    let emailBytes = 0;
    let attached = false;
    const ses = new SESv2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    (ses as unknown as { send: (c: { input: unknown }) => Promise<unknown> }).send = async (c) => {
      const simple = (
        c.input as {
          Content?: {
            Simple?: { Attachments?: { RawContent: Uint8Array }[]; Body?: { Html?: { Data?: string } } };
          };
        }
      ).Content?.Simple;
      attached = (simple?.Attachments?.length ?? 0) > 0;
      emailBytes =
        (simple?.Attachments?.[0]?.RawContent.length ?? 0) + (simple?.Body?.Html?.Data?.length ?? 0);
      return { MessageId: 'bench' };
    };
    const s3 = memoryS3Client(memory);
    const stores = createHubStores(s3, { bucket: 'bench-bucket', logger, readConcurrency: concurrency });
    const config: DigestConfig = {
      bucket: 'bench-bucket',
      organizationId: org.organizationId,
      targetOuIds: [org.rootId],
      recipients: ['security@example.com'],
      sender: 'credreport@example.com',
      tagKeys: [],
      breakdownTag: 'Environment',
      thresholds: DEFAULT_THRESHOLDS,
      maxEmailBytes: 10_000_000,
      tagCacheHours: 24,
      readConcurrency: concurrency,
      orgBudgetMs: 600_000,
    };
    const deps = {
      stores,
      organizations: fakeOrganizationsClient(org),
      iam: new IAMClient({ region: 'us-east-1' }),
      ses,
      logger,
      metrics,
      ownAccountId,
      collect: async () => {
        if (!ownReport) throw new Error('no own report');
        return { report: ownReport, stats: { apiCalls: {}, users, durationMs: 0 } };
      },
    };

    global.gc?.();
    const rssBaselineMb = mb(process.memoryUsage.rss());
    let cpu = process.cpuUsage();
    const cold = await withPeakRss(() => timed(() => runDigest(config, deps, now)));
    const coldCpuMs = cpuMs(process.cpuUsage(cpu));
    const coldCalls = { ...org.calls };
    for (const key of Object.keys(org.calls)) delete org.calls[key];
    global.gc?.();
    // The previous run's CSVs as the second run reads them (streamed from the bucket), on their own.
    cpu = process.cpuUsage();
    const previousRead = await timed(async () => {
      const [credentialReport, accessKeys] = await Promise.all([
        stores.outputs.openOutput(LATEST_RUN, S3_LAYOUT.outputFiles.credentialReport),
        stores.outputs.openOutput(LATEST_RUN, S3_LAYOUT.outputFiles.accessKeys),
      ]);
      if (!credentialReport || !accessKeys) throw new Error('bench: the first run wrote no CSVs');
      return readPreviousRun({ credentialReport, accessKeys });
    });
    const previousReadCpuMs = cpuMs(process.cpuUsage(cpu));
    global.gc?.();
    // The same previous run read from its state.json.gz, as the second run does (core/run-state.ts).
    cpu = process.cpuUsage();
    const stateRead = await timed(async () => {
      const state = await stores.outputs.openOutput(LATEST_RUN, S3_LAYOUT.outputFiles.state);
      if (!state) throw new Error('bench: the first run wrote no state');
      return readPreviousState({ state });
    });
    const stateReadCpuMs = cpuMs(process.cpuUsage(cpu));
    global.gc?.();
    cpu = process.cpuUsage();
    const warm = await timed(() => runDigest(config, deps, new Date(now.getTime() + 3_600_000)));
    const warmCpuMs = cpuMs(process.cpuUsage(cpu));
    const warmCalls = { ...org.calls };
    if (metricsDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = metricsDisabled;

    // Read phase alone: bounded concurrency over every account vs one at a time over a subset.
    const ids = [...memory.objects.keys()]
      .filter((k) => k.endsWith('/latest.json'))
      .map((k) => k.split('/')[1] as string)
      .sort();
    const bounded = await timed(() =>
      drain(stores.accounts.readAccountReports(ids, () => undefined, { concurrency })),
    );
    const serial = await timed(() =>
      drain(
        stores.accounts.readAccountReports(ids.slice(0, serialSample), () => undefined, { concurrency: 1 }),
      ),
    );
    const serialExtrapolatedMs = (serial.ms / serialSample) * ids.length;

    const csvBytes = memory.objects.get('latest/credential-report.csv')?.body.length ?? 0;
    const keysBytes = memory.objects.get('latest/access-keys.csv')?.body.length ?? 0;
    const label = `${accounts.toLocaleString('en-US')} accounts x ${users} users, S3 read latency ${latencyMs} ms`;
    return [
      {
        name: `digest: full run over ${stored.toLocaleString('en-US')} stored reports (${label})`,
        metrics: {
          firstRunMs: Math.round(cold.value.ms),
          secondRunMs: Math.round(warm.ms),
          firstRunCpuMs: coldCpuMs,
          secondRunCpuMs: warmCpuMs,
          previousRunReadMs: Math.round(previousRead.ms),
          previousRunReadCpuMs: previousReadCpuMs,
          previousRunRows: previousRead.value.users.size + (previousRead.value.keys?.size ?? 0),
          previousStateReadMs: Math.round(stateRead.ms),
          previousStateReadCpuMs: stateReadCpuMs,
          previousStateRows: stateRead.value.users.size + (stateRead.value.keys?.size ?? 0),
          peakRssMb: cold.peakRssMb,
          rssBeforeRunMb: rssBaselineMb,
          fakeBucketMb: mb(bucketBytes),
          readConcurrency: concurrency,
          maxS3ReadsInFlight: memory.maxInFlightGets,
          credentialReportCsvMb: mb(csvBytes),
          accessKeysCsvMb: mb(keysBytes),
          coverage: `${cold.value.value.coverage.reporting}/${cold.value.value.coverage.expected}`,
          email: `${cold.value.value.email}, ${attached ? 'CSV attached' : 'CSV linked (too large)'}, ${Math.round(emailBytes / 1024)} KB`,
          note: "first run: cold metadata cache, no previous run; second run: warm cache, delta vs the first. CPU ms = user + system of the whole process (the fakes included). previousRunRead = core readPreviousRun over the first run's two CSVs, alone (older runs); previousStateRead = readPreviousState over its state.json.gz, alone (what the second run reads). Peak RSS (first run) includes the in-memory fake bucket",
        },
      },
      {
        name: `digest: reading stored reports, bounded concurrency vs one at a time (${label})`,
        metrics: {
          boundedAccounts: bounded.value,
          boundedMs: Math.round(bounded.ms),
          serialAccountsMeasured: serial.value,
          serialMeasuredMs: Math.round(serial.ms),
          serialExtrapolatedMs: Math.round(serialExtrapolatedMs),
          speedup: Number((serialExtrapolatedMs / bounded.ms).toFixed(1)),
          note: `serial pass measured on the first ${serialSample} accounts and extrapolated linearly to ${ids.length}`,
        },
      },
      {
        name: `digest: Organizations calls per digest (${accounts.toLocaleString('en-US')} accounts, ${org.ous.length} OUs)`,
        metrics: {
          coldTotal: total(coldCalls),
          ...Object.fromEntries(Object.entries(coldCalls).map(([op, n]) => [`cold.${op}`, n])),
          warmTotal: total(warmCalls),
          ...Object.fromEntries(Object.entries(warmCalls).map(([op, n]) => [`warm.${op}`, n])),
        },
      },
    ];
  },
};
