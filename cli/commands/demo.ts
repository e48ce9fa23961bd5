/**
 * `credreport demo`: the whole core on the bundled sample organization, no AWS needed. Writes the same
 * five outputs as merge/collect and prints a short summary table.
 */
import { grantsOfReport } from '../../core/merge';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { sampleOrganization } from '../../core/sample-org';
import {
  CIS_VERSION_HELP,
  CIS_VERSION_OPTION,
  FAIL_ON_HELP,
  FAIL_ON_OPTION,
  OUTPUT_HELP,
  OUTPUT_OPTIONS,
  parseCisVersionOption,
  parseCommandLine,
  parseDateOption,
  parseFailOnOption,
  parseOutputOptions,
} from '../args';
import { Command, CommandIo, EXIT_HELP } from '../command';
import { finishRun } from '../end-summary';
import { writeRunOutputs } from '../outputs';
import { EXEMPTIONS_HELP, EXEMPTIONS_OPTIONS, readExemptionsOption } from '../exemptions-option';
import { DIGEST_WIDTHS, renderDigestInBrowser } from '../browser';
import { OWNER_HELP, OWNER_OPTIONS, ownerPartitionOf, parseOwnerOptions, writeOwnerDigests } from '../owners';

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  now: { type: 'string' },
  screenshots: { type: 'boolean' },
  ...EXEMPTIONS_OPTIONS,
  ...CIS_VERSION_OPTION,
  ...FAIL_ON_OPTION,
  ...OUTPUT_OPTIONS,
  ...OWNER_OPTIONS,
} as const;

const HELP = `Usage: credreport demo [options]

Runs credreport on a bundled sample organization, without AWS: nine active
accounts (and a suspended one) in OUs, tagged, with a root access key, console
users without MFA, stale, unrotated and never-used keys, an admin key, a
data-read key, SCPs, root credentials removed centrally and a weak password
policy; one stale, one malformed and one never-reporting account, so coverage
shows its gaps. Writes credential-report.csv, access-keys.csv,
findings.csv, state.json.gz, summary.json and digest.html and ends with the
same summary as merge and collect.

Options:
  --out DIR, -o DIR    where to write (default ./out)
  --now TIME           ISO 8601 time the sample is generated around, e.g.
                       2024-06-01T06:00:00Z (a time without an offset is UTC;
                       default: the current time); the same --now gives
                       byte-identical files
${EXEMPTIONS_HELP}
${CIS_VERSION_HELP}
  --screenshots        also write digest-1280.png and digest-390.png (the
                       digest in headless Chromium at a desktop and a phone
                       width); needs /usr/bin/chromium (apt-get install
                       chromium) or CHROMIUM_PATH, and the puppeteer-core
                       development dependency
${FAIL_ON_HELP}
${OWNER_HELP}
${OUTPUT_HELP}

The sample's coverage gaps are intended: they do not make the exit status 3.
${EXIT_HELP}
`;

/** The digest as seen at {@link DIGEST_WIDTHS}, one full-page PNG per width, beside the other outputs. */
async function writeScreenshots(outDir: string, html: string): Promise<string[]> {
  const widths = [DIGEST_WIDTHS.desktop, DIGEST_WIDTHS.phone];
  const layouts = await renderDigestInBrowser(html, widths, { screenshots: true });
  const paths: string[] = [];
  for (const layout of layouts) {
    if (!layout.png) continue;
    const path = join(outDir, `digest-${layout.width}.png`);
    await writeFile(path, layout.png);
    paths.push(path);
  }
  return paths;
}

async function runDemo(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandLine(argv, OPTIONS);
  const mode = parseOutputOptions(values);
  const failOn = parseFailOnOption(values['fail-on']);
  const now = values.now !== undefined ? parseDateOption('now', values.now) : new Date();
  const outDir = resolve(io.cwd, values.out ?? 'out');
  const cisVersion = parseCisVersionOption(values['cis-version']);
  const exemptions = await readExemptionsOption(values, io.cwd);
  const owners = parseOwnerOptions(values, (dir) => resolve(io.cwd, dir));
  const org = sampleOrganization(now);
  const organizationLabel = `${org.metadata.organizationId ?? 'sample'} (sample organization)`;
  const { result, paths } = await writeRunOutputs(outDir, {
    now,
    thresholds: DEFAULT_THRESHOLDS,
    metadata: org.metadata,
    items: org.reports.map((report) => ({ kind: 'report' as const, report })),
    grantsOf: grantsOfReport,
    organizationLabel,
    ...(cisVersion ? { cisVersion } : {}),
    ...(exemptions ? { exemptions } : {}),
    ...(owners ? { partitionOf: ownerPartitionOf(org.metadata, owners) } : {}),
  });
  const written: string[] = Object.values(paths);
  if (owners) written.push(...(await writeOwnerDigests(owners, result.partitions, organizationLabel)));
  if (values.screenshots) written.push(...(await writeScreenshots(outDir, result.html)));
  if (!mode.quiet) {
    (mode.json ? io.stderr : io.stdout).write(
      `credreport demo: sample organization as of ${now.toISOString()}\n\n`,
    );
  }
  return finishRun(io, {
    command: 'demo',
    headline: 'Sample organization,',
    summary: result.summary,
    verdict: result.verdict,
    files: written,
    mode,
    ...(failOn ? { failOn } : {}),
    gapsIntended: true,
  });
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run on a bundled sample organization and write the outputs to ./out',
  help: HELP,
  run: runDemo,
};
