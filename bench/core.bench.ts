/**
 * The digest core over a synthetic organization: parse → enrich → findings → both CSVs, summary, HTML.
 * `npm run bench -- --only core [--accounts 10000] [--users 50] [--seed 1] [--write-dir DIR]`.
 * Without --write-dir the CSVs go to byte-counting sinks, so the figure is the core, not the disk.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runMerge } from '../core/merge';
import { S3_LAYOUT } from '../core/names';
import { syntheticOrganization } from '../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../core/thresholds';
import { AccountReport } from '../core/types';
import { BenchModule, BenchRow, timed, withPeakRss } from './harness';

/** A sink that only counts what it is given. */
class CountingSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    callback();
  }
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.bytes += chunk.length;
    callback();
  }
}

/** Counts bytes on their way to a file. */
function countingFile(path: string): { sink: NodeJS.WritableStream; bytes: () => number } {
  const file = createWriteStream(path);
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (file.write(chunk)) callback();
      else file.once('drain', () => callback());
    },
    final(callback) {
      file.end(() => callback());
    },
  });
  file.on('error', (error) => sink.destroy(error));
  return { sink, bytes: () => bytes };
}

export const coreBench: BenchModule = {
  name: 'core',
  async run(options): Promise<BenchRow[]> {
    const accounts = options.int('accounts', 10_000);
    const users = options.int('users', 50);
    const seed = options.int('seed', 1);
    const writeDir = options.args['write-dir'];
    const now = new Date('2024-06-01T06:00:00Z');
    global.gc?.();
    const rssBeforeMb = Math.round(process.memoryUsage.rss() / 1024 / 1024);

    let generateNs = 0n;
    const cpuBefore = process.cpuUsage();
    const { value, peakRssMb } = await withPeakRss(() =>
      timed(async () => {
        const org = syntheticOrganization({ accounts, usersPerAccount: users, seed, now });
        let sinks: { credentialReport: NodeJS.WritableStream; accessKeys: NodeJS.WritableStream };
        let bytes: () => number;
        if (writeDir) {
          await mkdir(writeDir, { recursive: true });
          const cr = countingFile(join(writeDir, S3_LAYOUT.outputFiles.credentialReport));
          const ak = countingFile(join(writeDir, S3_LAYOUT.outputFiles.accessKeys));
          sinks = { credentialReport: cr.sink, accessKeys: ak.sink };
          bytes = () => cr.bytes() + ak.bytes();
        } else {
          const cr = new CountingSink();
          const ak = new CountingSink();
          sinks = { credentialReport: cr, accessKeys: ak };
          bytes = () => cr.bytes + ak.bytes;
        }
        // Reports are generated lazily while the merge pulls them: time the generator separately.
        const reports: Iterable<AccountReport> = {
          *[Symbol.iterator]() {
            const iterator = org.reports[Symbol.iterator]();
            for (;;) {
              const start = process.hrtime.bigint();
              const next = iterator.next();
              generateNs += process.hrtime.bigint() - start;
              if (next.done) return;
              yield next.value;
            }
          },
        };
        const result = await runMerge(
          { now, thresholds: DEFAULT_THRESHOLDS, metadata: org.metadata, reports },
          sinks,
        );
        const summaryJson = JSON.stringify(result.summary);
        return { result, csvBytes: bytes(), summaryBytes: summaryJson.length, htmlBytes: result.html.length };
      }),
    );
    const { result, csvBytes, summaryBytes, htmlBytes } = value.value;
    const rows = result.summary.totals.users;
    const generateMs = Number(generateNs) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    const coreMs = value.ms - generateMs;
    const keys = result.summary.totals.accessKeys;
    return [
      {
        name: `core: ${accounts.toLocaleString('en-US')} accounts x ${users} users`,
        metrics: {
          accounts: result.summary.totals.accounts,
          rows,
          keys,
          wallMs: Math.round(value.ms),
          cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          generateMs: Math.round(generateMs),
          coreMs: Math.round(coreMs),
          rowsPerSec: Math.round((rows / value.ms) * 1000),
          coreRowsPerSec: Math.round((rows / coreMs) * 1000),
          peakRssMb,
          rssBeforeMb,
          csvBytes,
          summaryBytes,
          htmlBytes,
          coverage: `${result.summary.coverage.reporting}/${result.summary.coverage.expected}`,
        },
      },
    ];
  },
};
