/**
 * Ingest under a hostile part set (docs/ARCHITECTURE.md §11): 512 parts of 1 MB of base64 each, the
 * largest set the event contract's per-part limits allow, through the real `ingestEvent` over the
 * in-memory S3 double. Measures peak RSS and the part bodies read while ingest refuses it:
 * - as events: every part goes through ingest, one invocation at a time (as Lambda would run them);
 * - as a set already in incoming/ (parts stored before the declared-size check existed), completed by
 *   its last part: ingest weighs the listing and refuses it unread;
 * - the same stored set read and assembled the way ingest did before the listing was weighed
 *   (`readParts` then `classifyAssembly`), for comparison. Run last: RSS rarely shrinks afterwards.
 * The stored set's 511 other parts are virtual: listed with their size, their bodies built only when
 * a GetObject asks (as S3 would send them), so the double itself holds ~1 MB, not 512 MB.
 * `npm run bench -- --only ingest [--ingest-parts 512] [--ingest-part-chars 1048576]`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { IngestDeps, ingestEvent } from '../aggregator/ingest';
import { PartDetail } from '../core/event-contract';
import { classifyAssembly, classifyPart } from '../core/ingest-decision';
import { S3_LAYOUT } from '../core/names';
import { createHubStores } from '../store/hub-stores';
import { MemoryS3, memoryS3Client } from '../test/unit/aggregator/support/memory-s3';
import { accountReport, partEvent, partsOf } from '../test/unit/aggregator/support/reports';
import { BenchModule, BenchRow, timed, withPeakRss } from './harness';

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
const ACCOUNT = '222222222222';
const NOW = new Date('2026-11-21T06:00:00Z');

type Input = Record<string, unknown>;

/** The memory double plus parts that exist only as listed keys, whose bodies are built on GetObject. */
class VirtualPartsS3 extends MemoryS3 {
  /** GetObject calls for keys under incoming/ (part bodies a reader pulled into memory). */
  partGets = 0;

  constructor(
    private readonly virtual: ReadonlyMap<string, () => Buffer>,
    private readonly virtualSize: number,
  ) {
    super();
  }

  override async listObjectsV2(input: Input): Promise<Input> {
    const out = await super.listObjectsV2(input);
    const prefix = (input.Prefix as string | undefined) ?? '';
    const extra = [...this.virtual.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ Key: k, Size: this.virtualSize, ETag: '"virtual"', LastModified: NOW }));
    const contents = [...((out.Contents as { Key: string }[] | undefined) ?? []), ...extra].sort((a, b) =>
      a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0,
    );
    if (contents.length > 1000) throw new Error('VirtualPartsS3: listing would need more than one page');
    return { ...out, Contents: contents, KeyCount: contents.length };
  }

  override async getObject(input: Input): Promise<Input> {
    if (String(input.Key).startsWith(S3_LAYOUT.incomingPrefix)) this.partGets++;
    const build = this.virtual.get(input.Key as string);
    if (!build) return super.getObject(input);
    const body = build();
    return {
      Body: { transformToByteArray: async () => body },
      ETag: '"virtual"',
      ContentLength: body.length,
    };
  }
}

export const ingestBench: BenchModule = {
  name: 'ingest',
  async run(options): Promise<BenchRow[]> {
    const parts = options.int('ingest-parts', 512);
    const chars = options.int('ingest-part-chars', 1_048_576);
    const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
    const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const metrics = new Metrics({ namespace: 'Bench', serviceName: 'bench' });
    // A genuine part gives the envelope (ids, times, sha256); the hostile parts keep it and carry
    // `chars` characters of base64 each.
    const [template] = partsOf(accountReport(ACCOUNT, NOW, 1 / 60));
    if (!template) throw new Error('bench: no template part');
    const payload = 'A'.repeat(chars);
    const hostile = (n: number): PartDetail => ({ ...template, part: n, parts, payload });
    const label = `${parts} parts x ${chars.toLocaleString('en-US')} base64 characters`;

    // 1. Every part as an event through ingest, one invocation at a time.
    const events = new VirtualPartsS3(new Map(), 0);
    events.recordKeys = false;
    const eventDeps: IngestDeps = {
      stores: createHubStores(memoryS3Client(events), { bucket: 'bench-bucket', logger }),
      logger,
      metrics,
      now: () => NOW,
    };
    global.gc?.();
    const eventsBaseline = mb(process.memoryUsage.rss());
    const outcomes: Record<string, number> = {};
    const asEvents = await withPeakRss(() =>
      timed(async () => {
        for (let n = 1; n <= parts; n++) {
          const outcome = await ingestEvent(partEvent(hostile(n), ACCOUNT), eventDeps);
          const key = outcome.status === 'rejected' ? `rejected ${outcome.reason}` : outcome.status;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      }),
    );
    const incomingKeys = events.keys('incoming/').length;
    const partGets = events.partGets;

    // 2. The same set already stored: all but the last part are virtual; the last one goes through
    //    ingest (as the event that completes the set), is stored, and the set is weighed.
    const body = (n: number) => () => Buffer.from(JSON.stringify(hostile(n)), 'utf8');
    const virtual = new Map(
      Array.from({ length: parts - 1 }, (_, i) => [
        S3_LAYOUT.incomingPart(ACCOUNT, template.reportId, template.sha256, i + 1, parts),
        body(i + 1),
      ]),
    );
    const stored = new VirtualPartsS3(virtual, body(1)().length);
    stored.recordKeys = false;
    const storedDeps: IngestDeps = {
      ...eventDeps,
      stores: createHubStores(memoryS3Client(stored), { bucket: 'bench-bucket', logger }),
    };
    const last = hostile(parts);
    global.gc?.();
    const weighedBaseline = mb(process.memoryUsage.rss());
    const weighed = await withPeakRss(() => timed(() => ingestEvent(partEvent(last, ACCOUNT), storedDeps)));
    const weighedGets = stored.partGets;

    // 3. For comparison: the stored set read and assembled as ingest did before it weighed the listing.
    const accepted = classifyPart(partEvent(last, ACCOUNT), NOW);
    if (accepted.kind !== 'accept') throw new Error(`bench: last part refused: ${accepted.detail}`);
    global.gc?.();
    const readBaseline = mb(process.memoryUsage.rss());
    const readWhole = await withPeakRss(() =>
      timed(async () => {
        const refs = await storedDeps.stores.incoming.listParts(ACCOUNT, template.reportId, template.sha256);
        const read = await storedDeps.stores.incoming.readParts(refs);
        return classifyAssembly(accepted, read, NOW);
      }),
    );
    const readDecision = readWhole.value.value;
    if (metricsDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = metricsDisabled;

    return [
      {
        name: `ingest: hostile set of ${label}, sent as events`,
        metrics: {
          ms: Math.round(asEvents.value.ms),
          peakRssMb: asEvents.peakRssMb,
          rssBeforeMb: eventsBaseline,
          outcomes: Object.entries(outcomes)
            .map(([k, v]) => `${v} ${k}`)
            .join(', '),
          partsStored: incomingKeys,
          partBodiesRead: partGets,
          note: 'each non-final part declares a set over MAX_JOINED_BASE64_CHARS and is refused before any S3 read; the final part alone fits and waits (incoming/ lifecycle)',
        },
      },
      {
        name: `ingest: hostile set of ${label}, already stored, completed by its last part`,
        metrics: {
          ms: Math.round(weighed.value.ms),
          peakRssMb: weighed.peakRssMb,
          rssBeforeMb: weighedBaseline,
          outcome:
            weighed.value.value.status === 'rejected'
              ? `rejected ${weighed.value.value.reason}`
              : weighed.value.value.status,
          partBodiesRead: weighedGets,
          note: 'the listing sizes are summed before any body is read',
        },
      },
      {
        name: `ingest: the same stored set read whole, as before the listing was weighed`,
        metrics: {
          ms: Math.round(readWhole.value.ms),
          peakRssMb: readWhole.peakRssMb,
          rssBeforeMb: readBaseline,
          outcome: readDecision.kind === 'reject' ? `rejected ${readDecision.reason}` : 'accepted',
          partBodiesRead: stored.partGets - weighedGets,
          note: 'readParts then classifyAssembly, the path ingest took before this check; for comparison only',
        },
      },
    ];
  },
};
