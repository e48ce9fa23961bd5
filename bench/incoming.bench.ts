/**
 * The digest's listing of incoming/ (docs/ARCHITECTURE.md §5): `IncomingStore.listIncompletePartSets`,
 * the real store and grouper, against an S3 double that generates its keys lazily, in S3's
 * lexicographic order, 1,000 per ListObjectsV2 page, so the double holds one page and not the listing.
 * The bucket is a flood: 1,000 accounts, each with reports of 10 parts, every other one declaring 11
 * (so half the sets never complete). Measured at two sizes, the same accounts, to show memory flat in
 * the object count: peak heap growth over the listing (sampled at every page), peak RSS, and the
 * same listing held whole (`S3Bucket.listAll`, what the digest did before) for comparison.
 * `npm run bench -- --only incoming [--incoming-objects 500000,50000] [--incoming-accounts 1000]`.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { reportIdFor } from '../core/event-contract';
import { S3_LAYOUT } from '../core/names';
import { IncomingStore } from '../store/incoming-store';
import { S3Bucket } from '../store/s3';
import { BenchModule, BenchRow, timed, withPeakRss } from './harness';

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const PAGE = 1_000;
const PARTS = 10;
const SHA = 'e3'.repeat(32);
const WRITTEN = new Date('2026-11-14T06:00:00Z');
/** Every this many pages the double forces a GC and samples the live heap. */
const GC_EVERY_PAGES = 25;

/** `objects` keys under incoming/, in S3's order, over `accounts` accounts; each built when listed. */
class GeneratedIncoming {
  readonly perAccount: number;
  private cached: { collection: number; keys: string[] } | undefined;
  calls = 0;
  /** Largest heapUsed seen at a page (garbage included). */
  peakHeap = 0;
  /** Largest heapUsed right after a forced GC (what the listing keeps alive). */
  peakLiveHeap = 0;

  constructor(
    readonly objects: number,
    readonly accounts: number,
  ) {
    this.perAccount = Math.ceil(objects / accounts);
  }

  /** The `rank`-th key of collection `c` (account, report), keys sorted as S3 lists them. */
  private key(index: number): string {
    const account = Math.floor(index / this.perAccount);
    const within = index % this.perAccount;
    const collection = account * this.perAccount + Math.floor(within / PARTS);
    if (this.cached?.collection !== collection) {
      const accountId = String(100_000_000_000 + account);
      const report = Math.floor(within / PARTS);
      const reportId = reportIdFor(accountId, new Date(WRITTEN.getTime() + report * 60_000).toISOString());
      // Every other report declares one part more than it has: an incomplete set.
      const declared = report % 2 === 0 ? PARTS + 1 : PARTS;
      const keys = Array.from({ length: PARTS }, (_, i) =>
        S3_LAYOUT.incomingPart(accountId, reportId, SHA, i + 1, declared),
      ).sort();
      this.cached = { collection, keys };
    }
    return this.cached.keys[within % PARTS] as string;
  }

  /** ListObjectsV2 over the generated keys: the continuation token is the next index. */
  list(input: { ContinuationToken?: string }): Record<string, unknown> {
    this.calls++;
    this.peakHeap = Math.max(this.peakHeap, process.memoryUsage().heapUsed);
    if (this.calls % GC_EVERY_PAGES === 0 && global.gc) {
      global.gc();
      this.peakLiveHeap = Math.max(this.peakLiveHeap, process.memoryUsage().heapUsed);
    }
    const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const end = Math.min(this.objects, start + PAGE);
    const contents = [];
    for (let i = start; i < end; i++) {
      contents.push({
        Key: this.key(i),
        Size: 900,
        ETag: '"generated"',
        LastModified: new Date(WRITTEN.getTime() + i),
      });
    }
    const truncated = end < this.objects;
    return {
      Contents: contents,
      KeyCount: contents.length,
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: String(end) } : {}),
    };
  }
}

function clientFor(generated: GeneratedIncoming): S3Client {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  (client as unknown as { send: (c: { input: unknown }) => Promise<unknown> }).send = async (command) => {
    if (!(command instanceof ListObjectsV2Command)) throw new Error('bench: only ListObjectsV2 is generated');
    return generated.list(command.input as { ContinuationToken?: string });
  };
  return client;
}

async function measure(objects: number, accounts: number): Promise<BenchRow[]> {
  const streamed = new GeneratedIncoming(objects, accounts);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage.rss();
  streamed.peakHeap = heapBefore;
  streamed.peakLiveHeap = heapBefore;
  const store = new IncomingStore(clientFor(streamed), { bucket: 'bench-bucket' });
  const listed = await withPeakRss(() => timed(() => store.listIncompletePartSets()), 10);
  const sets = listed.value.value;
  const counted = sets.reduce((sum, a) => sum + a.count, 0);
  const kept = sets.reduce((sum, a) => sum + a.newest.length, 0);
  const streamedHeapGrowth = streamed.peakHeap - heapBefore;
  const streamedLiveGrowth = streamed.peakLiveHeap - heapBefore;

  // For comparison: the same listing held whole, as the digest listed incoming/ before.
  const whole = new GeneratedIncoming(objects, accounts);
  global.gc?.();
  const wholeHeapBefore = process.memoryUsage().heapUsed;
  whole.peakHeap = wholeHeapBefore;
  whole.peakLiveHeap = wholeHeapBefore;
  const held = await timed(() => new S3Bucket(clientFor(whole), { bucket: 'bench-bucket' }).listAll({}));
  global.gc?.();
  const wholeLiveGrowth = Math.max(whole.peakLiveHeap, process.memoryUsage().heapUsed) - wholeHeapBefore;
  const wholeHeapGrowth = Math.max(whole.peakHeap, wholeLiveGrowth + wholeHeapBefore) - wholeHeapBefore;
  const heldObjects = held.value.contents.length;

  const label = `${objects.toLocaleString('en-US')} incoming/ objects, ${accounts.toLocaleString('en-US')} accounts, ${PAGE} keys per page`;
  return [
    {
      name: `incoming: digest listing streamed (${label})`,
      metrics: {
        ms: Math.round(listed.value.ms),
        listCalls: streamed.calls,
        peakHeapGrowthMb: mb(streamedHeapGrowth),
        peakLiveHeapGrowthMb: mb(streamedLiveGrowth),
        peakRssMb: listed.peakRssMb,
        rssBeforeMb: Math.round(rssBefore / 1024 / 1024),
        accountsWithIncompleteSets: sets.length,
        incompleteSetsCounted: counted,
        incompleteSetsKept: kept,
        note: `growth over the heap after a full GC before the listing; peakHeap sampled at every ListObjectsV2 page (garbage included), peakLiveHeap after a forced GC every ${GC_EVERY_PAGES} pages`,
      },
    },
    {
      name: `incoming: the same listing held whole, as before (${label})`,
      metrics: {
        ms: Math.round(held.ms),
        objectsHeld: heldObjects,
        peakHeapGrowthMb: mb(wholeHeapGrowth),
        liveHeapGrowthMb: mb(wholeLiveGrowth),
        liveBytesPerObject: Math.round(wholeLiveGrowth / heldObjects),
        note: 'S3Bucket.listAll, which the digest used before; for comparison only',
      },
    },
  ];
}

export const incomingBench: BenchModule = {
  name: 'incoming',
  async run(options): Promise<BenchRow[]> {
    const sizes = (options.args['incoming-objects'] ?? '500000,50000').split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --incoming-objects: bad size '${s}'`);
      return n;
    });
    const accounts = options.int('incoming-accounts', 1_000);
    const rows: BenchRow[] = [];
    for (const objects of sizes) rows.push(...(await measure(objects, accounts)));
    return rows;
  },
};
