/**
 * The demo digest in a real browser: headless Chromium (Debian's `chromium`, `.ci/run` installs it)
 * driven by puppeteer-core. The demo pipeline runs for real into a temporary directory, with
 * `--screenshots`, and the digest it wrote is laid out again here at a desktop and a phone width.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DEFAULT_CHROMIUM, DigestLayout, renderDigestInBrowser } from '../../cli/browser';
import { main } from '../../cli/main';
import { renderDigestHtml } from '../../core/digest-html';
import type { Summary } from '../../core/summary';
import { longRemovedUsers, withHugeNames } from '../unit/core/digest-fixtures';

const NOW = '2024-06-01T06:00:00Z';
const CHROMIUM = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the demo digest in headless Chromium', () => {
  let dir: string;
  let summary: Summary;
  let desktop: DigestLayout;
  let phone: DigestLayout;
  let demoStderr = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is required for the browser test and was not found at ${CHROMIUM}: ` +
          'install it with `apt-get install -y chromium` (.ci/run does), or set CHROMIUM_PATH.',
      );
    }
    dir = mkdtempSync(join(tmpdir(), 'credreport-browser-'));
    const err = new PassThrough();
    err.on('data', (d: Buffer) => (demoStderr += d.toString('utf8')));
    const code = await main(['demo', '--now', NOW, '--out', dir, '--screenshots'], {
      stdout: new PassThrough(),
      stderr: err,
      env: {},
      cwd: dir,
    });
    expect([code, demoStderr]).toEqual([0, '']);
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    const html = readFileSync(join(dir, 'digest.html'), 'utf8');
    [desktop, phone] = (await renderDigestInBrowser(html, [1280, 390], { executablePath: CHROMIUM })) as [
      DigestLayout,
      DigestLayout,
    ];
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fits a 390 px phone without scrolling sideways, and a 1280 px desktop', () => {
    expect(phone.scrollWidth).toBeLessThanOrEqual(390);
    expect(desktop.scrollWidth).toBeLessThanOrEqual(1280);
  });

  it('shows the sections in the digest order at both widths', () => {
    const order = ['headline', 'changes', 'risks', 'coverage', 'compliance', 'by-ou', 'by-tag', 'footer'];
    expect(desktop.sections).toEqual(order);
    expect(phone.sections).toEqual(order);
  });

  it('shows in the headline exactly the numbers of summary.json', () => {
    const c = summary.coverage;
    const t = summary.totals;
    const open = summary.totals.openFindings.critical + summary.totals.openFindings.high;
    // A first run: no delta, so no "new" or "resolved" figure (shown as — with "first run").
    expect(summary.delta).toBeUndefined();
    const figures = { open: String(open), reporting: String(c.reporting), expected: String(c.expected) };
    expect(desktop.figures).toEqual(figures);
    expect(phone.figures).toEqual(figures);
    expect(desktop.headlineText).toMatch(/—\s*new \(first run\)\s*—\s*resolved \(first run\)/);

    // Every other number the reader sees in the headline (the title's date and the generation time aside).
    const fromSummary = new Set(
      [open, c.reporting, c.expected, c.missing, c.stale, t.accounts, t.users, t.accessKeys]
        .concat([t.activeAccessKeys, t.usersWithFindings])
        .map((n) => n.toLocaleString('en-US')),
    );
    const [, ...body] = desktop.headlineText.split('\n');
    const numbers =
      body
        .join('\n')
        .replace(summary.generatedAt, '')
        .match(/\d[\d,]*/g) ?? [];
    expect(numbers.length).toBeGreaterThanOrEqual(8);
    for (const n of numbers) expect([n, fromSummary.has(n)]).toEqual([n, true]);
    expect(desktop.headlineText).toContain(
      `${c.reporting} of ${c.expected} expected accounts reporting, ${c.missing} missing`,
    );
  });

  it('loads nothing from outside the message', () => {
    expect(desktop.requests).toEqual([]);
    expect(phone.requests).toEqual([]);
  });

  it('writes the desktop and phone screenshots beside the outputs with `demo --screenshots`', () => {
    const wide = pngSize(readFileSync(join(dir, 'digest-1280.png')));
    const narrow = pngSize(readFileSync(join(dir, 'digest-390.png')));
    expect(wide.width).toBe(1280);
    expect(narrow.width).toBe(390);
    // Full-page shots: the phone's narrower column makes it the longer page.
    expect(narrow.height).toBeGreaterThan(wide.height);
    expect(wide.height).toBeGreaterThan(1000);
  });

  it('still fits 390 px when names and details are values of 200 characters without a space', async () => {
    const hostile = withHugeNames((await longRemovedUsers(['bob'])).summary);
    const [narrow] = await renderDigestInBrowser(renderDigestHtml(hostile), [390], {
      executablePath: CHROMIUM,
    });
    expect(narrow?.scrollWidth).toBeLessThanOrEqual(390);
    expect(narrow?.sections).toContain('warnings');
  }, 60_000);
});
