/**
 * The digest in a real browser: headless Chromium (Debian's `chromium` package) driven by puppeteer-core,
 * which never downloads a browser of its own. Used by the browser test (test/browser) and by
 * `credreport demo --screenshots`. The page is loaded from a string with every request refused, so
 * anything the digest tried to fetch (an image, a font, a style sheet) is counted, not loaded.
 * puppeteer-core is a development dependency: it is loaded only when a page is rendered.
 */
import { existsSync } from 'node:fs';
import { CredreportError } from '../core/errors';

/** Chromium is not installed, or it did not start. */
export class BrowserUnavailableError extends CredreportError {}

/** Where Debian's chromium package puts the browser. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The two widths the digest is checked and shown at: a desktop mail client and a phone. */
export const DIGEST_WIDTHS = { desktop: 1280, phone: 390 } as const;

/** What the page looks like once laid out at one width. */
export interface DigestLayout {
  readonly width: number;
  /** `document.scrollingElement.scrollWidth`: wider than `width` means the page scrolls sideways. */
  readonly scrollWidth: number;
  /** `data-section` ids in document order. */
  readonly sections: readonly string[];
  /** Text of each `data-figure` element of the headline, by its id. */
  readonly figures: Readonly<Record<string, string>>;
  /** The headline section's rendered text. */
  readonly headlineText: string;
  /** Requests the page attempted (all refused): a self-contained digest makes none. */
  readonly requests: readonly string[];
  /** Full-page PNG, when asked for. */
  readonly png?: Uint8Array;
}

export interface RenderOptions {
  /** @default process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM */
  readonly executablePath?: string;
  /** Take a full-page screenshot at each width. @default false */
  readonly screenshots?: boolean;
}

/**
 * Runs in the page (a string: this project compiles without the DOM's types). Reads what the checks need.
 */
const READ_LAYOUT = `(() => {
  const figures = {};
  for (const el of document.querySelectorAll('[data-figure]')) figures[el.getAttribute('data-figure')] = el.innerText;
  const headline = document.querySelector('[data-section="headline"]');
  return {
    scrollWidth: document.scrollingElement ? document.scrollingElement.scrollWidth : NaN,
    sections: [...document.querySelectorAll('[data-section]')].map((el) => el.getAttribute('data-section')),
    figures,
    headlineText: headline ? headline.innerText : '',
  };
})()`;

type Seen = Pick<DigestLayout, 'scrollWidth' | 'sections' | 'figures' | 'headlineText'>;

function parseSeen(value: unknown): Seen {
  const v = value as Partial<Record<keyof Seen, unknown>> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    typeof v.scrollWidth === 'number' &&
    Array.isArray(v.sections) &&
    v.sections.every((s) => typeof s === 'string') &&
    typeof v.figures === 'object' &&
    v.figures !== null &&
    Object.values(v.figures).every((f) => typeof f === 'string') &&
    typeof v.headlineText === 'string';
  if (!ok) throw new BrowserUnavailableError('the page did not return its layout');
  return v as Seen;
}

function chromiumPath(options: RenderOptions): string {
  const path = options.executablePath ?? process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new BrowserUnavailableError(
      `Chromium not found at ${path}: install it with \`apt-get install -y chromium\` (.ci/run does), or set CHROMIUM_PATH`,
    );
  }
  return path;
}

/** Lays `html` out at each width in headless Chromium and reads what a reader would see. */
export async function renderDigestInBrowser(
  html: string,
  widths: readonly number[],
  options: RenderOptions = {},
): Promise<DigestLayout[]> {
  const executablePath = chromiumPath(options);
  const puppeteer = await import('puppeteer-core');
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      // Root in CI and containers: Chromium's sandbox needs user namespaces it may not have.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
  } catch (error) {
    throw new BrowserUnavailableError(`Chromium at ${executablePath} did not start`, { cause: error });
  }
  try {
    const layouts: DigestLayout[] = [];
    for (const width of widths) {
      const page = await browser.newPage();
      const requests: string[] = [];
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        requests.push(request.url());
        void request.abort();
      });
      await page.setViewport({ width, height: 900, deviceScaleFactor: 1, isMobile: width < 600 });
      await page.setContent(html, { waitUntil: 'load' });
      const seen = parseSeen(await page.evaluate(READ_LAYOUT));
      const png = options.screenshots ? await page.screenshot({ fullPage: true, type: 'png' }) : undefined;
      layouts.push({ width, ...seen, requests, ...(png ? { png } : {}) });
      await page.close();
    }
    return layouts;
  } finally {
    await browser.close();
  }
}
