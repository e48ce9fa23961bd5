import { capRows, displayCell, DISPLAY_CELL_CHARS, halveLimits, halvingSteps } from '../../../core/cap-rows';
import { DIGEST_LIMITS, moreLine, renderDigestHtml, renderDigestText } from '../../../core/digest-html';
import type { MergeResult } from '../../../core/merge';
import type { Summary } from '../../../core/summary';
import {
  fiftyThousandFindings,
  HUGE_NAME_CHARS,
  longRemovedUsers,
  withHugeNames,
  REPORTING_ACCOUNTS,
  SILENT_ACCOUNTS,
  USERS_PER_ACCOUNT,
} from './digest-fixtures';

const fmt = (n: number): string => n.toLocaleString('en-US');
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Every "and N more — see …" line of a body, in order (HTML entities of the pointer undone). */
function moreLines(body: string): string[] {
  return [...body.matchAll(/… and [\d,]+ more — see [^<\n]*?\./g)].map((m) =>
    m[0].replace(/&amp;/g, '&').replace(/&#39;/g, "'"),
  );
}

/** Every `&` opens one of the entities escapeHtml writes: a cut never leaves half an entity. */
function wellEscaped(html: string): boolean {
  return [...html.matchAll(/&/g)].every((m) =>
    /^&(?:amp|lt|gt|quot|#39);/.test(html.slice(m.index, m.index + 6)),
  );
}

describe('capRows', () => {
  it('shows the first `limit` rows in their order and counts every other row of the whole list', () => {
    expect(capRows(['a', 'b', 'c', 'd'], 2)).toEqual({ shown: ['a', 'b'], hidden: 2 });
    // A list kept as a prefix of a longer one (a delta list's first 100 of 50,000).
    expect(capRows(['a', 'b', 'c'], 2, 50_000)).toEqual({ shown: ['a', 'b'], hidden: 49_998 });
    expect(capRows(['a', 'b', 'c'], 10, 50_000)).toEqual({ shown: ['a', 'b', 'c'], hidden: 49_997 });
  });

  it('hides nothing when the list fits and shows no row at limit 0', () => {
    expect(capRows(['a'], 5)).toEqual({ shown: ['a'], hidden: 0 });
    expect(capRows(['a', 'b'], 0)).toEqual({ shown: [], hidden: 2 });
    // A total below the rows given never makes the hidden count negative.
    expect(capRows(['a', 'b'], 1, 0).hidden).toBe(1);
  });
});

describe('displayCell', () => {
  it('keeps a value within the bound and cuts a longer one to exactly the bound, ending in …', () => {
    expect(displayCell('x'.repeat(DISPLAY_CELL_CHARS))).toBe('x'.repeat(DISPLAY_CELL_CHARS));
    const cut = displayCell('y'.repeat(HUGE_NAME_CHARS));
    expect(cut).toHaveLength(DISPLAY_CELL_CHARS);
    expect(cut.endsWith('y…')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const cut = displayCell(`${'a'.repeat(8)}😀😀😀`, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
    expect(displayCell(`${'a'.repeat(7)}😀😀😀`, 10)).toBe(`${'a'.repeat(7)}😀…`);
  });
});

describe('halveLimits', () => {
  it('halves every limit per step and reaches 0 for all of them after halvingSteps', () => {
    expect(halveLimits(DIGEST_LIMITS, 0)).toEqual(DIGEST_LIMITS);
    expect(halveLimits(DIGEST_LIMITS, 1)).toEqual({
      coverageEntries: 50,
      riskiestKeys: 25,
      groups: 15,
      deltaItems: 10,
      complianceControls: 10,
      warnings: 5,
    });
    const steps = halvingSteps(DIGEST_LIMITS);
    expect(Object.values(halveLimits(DIGEST_LIMITS, steps)).every((n) => n === 0)).toBe(true);
    expect(Object.values(halveLimits(DIGEST_LIMITS, steps - 1)).some((n) => n > 0)).toBe(true);
  });
});

describe('digest bodies of an organization of 50,000 users with findings', () => {
  let merged: MergeResult;
  beforeAll(async () => {
    merged = await fiftyThousandFindings();
  }, 60_000);

  it('ends the new-findings list with "and N more" counting every new finding not shown', () => {
    const d = merged.summary.delta!;
    expect(merged.summary.totals.usersWithFindings).toBe(REPORTING_ACCOUNTS * USERS_PER_ACCOUNT);
    // console-without-mfa and key-not-rotated on each user, key-not-rotated on each key.
    expect(d.newFindings.count).toBe(150_000);
    const line = moreLine(150_000 - DIGEST_LIMITS.deltaItems, 'credential-report.csv');
    expect(line).toBe('… and 149,980 more — see credential-report.csv.');
    expect(merged.html).toMatch(new RegExp(`New findings \\(150,000\\)</h3>.*?${line}`, 's'));
    expect(merged.text).toMatch(new RegExp(`New findings \\(150,000\\):\n.*?${line}`, 's'));
  });

  it('caps coverage, top risks and both breakdowns, naming where the rest is', () => {
    const html = merged.html;
    const silent = SILENT_ACCOUNTS - DIGEST_LIMITS.coverageEntries;
    expect(html).toContain(`… and ${fmt(silent)} more — see summary.json.`);
    // 50,000 active keys, each with a finding of its own (key-not-rotated: the fixture's keys are 120 days old).
    expect(merged.summary.totals.activeAccessKeys).toBe(REPORTING_ACCOUNTS * USERS_PER_ACCOUNT);
    expect(merged.summary.totals.activeKeysWithFindings).toBe(REPORTING_ACCOUNTS * USERS_PER_ACCOUNT);
    const hiddenKeys = REPORTING_ACCOUNTS * USERS_PER_ACCOUNT - DIGEST_LIMITS.riskiestKeys;
    expect(html).toContain(`… and ${fmt(hiddenKeys)} more — see credential-report.csv.`);
    expect(merged.text).toContain(`… and ${fmt(hiddenKeys)} more — see credential-report.csv.`);
    expect(html).toContain(
      `… and ${fmt(merged.summary.byOu.length - DIGEST_LIMITS.groups)} more — see summary.json.`,
    );
    expect(html.match(/<tr>/g)?.length).toBeLessThan(500);
  });

  it('says the same "and N more" lines in the text as in the HTML', () => {
    const fromHtml = moreLines(merged.html);
    // Coverage, top risks, new findings, new users, new keys, by OU, by tag.
    expect(fromHtml.length).toBe(7);
    expect(moreLines(merged.text)).toEqual(fromHtml);
    // Also under cut limits and pointers of the email.
    const options = {
      limits: halveLimits(DIGEST_LIMITS, 3),
      fullListsAt: { csv: 'the attached CSV', summary: 's3://hub/runs/date=2024-06-01/summary.json' },
    };
    const html = renderDigestHtml(merged.summary, options);
    const text = renderDigestText(merged.summary, options);
    expect(moreLines(text)).toEqual(moreLines(html));
    expect(html).toContain(
      `… and ${fmt(50_000 - Math.floor(DIGEST_LIMITS.deltaItems / 8))} more — see the attached CSV.`,
    );
    expect(text).toContain(
      `… and ${fmt(SILENT_ACCOUNTS - 12)} more — see s3://hub/runs/date=2024-06-01/summary.json.`,
    );
  });

  it('shows only the "and N more" line of a list whose limit is 0', () => {
    const zero = halveLimits(DIGEST_LIMITS, halvingSteps(DIGEST_LIMITS));
    const html = renderDigestHtml(merged.summary, { limits: zero });
    expect(html).toContain(`… and ${fmt(SILENT_ACCOUNTS)} more — see summary.json.`);
    expect(html).toContain('… and 50,000 more — see credential-report.csv.');
    // No row of any capped list: no user, no silent account, no OU or tag value.
    const silentAccount = String(400000000000 + REPORTING_ACCOUNTS);
    const full = merged.html;
    for (const body of [full, merged.text]) {
      expect(body).toContain('user-0');
      expect(body).toContain(silentAccount);
      expect(body).toMatch(/env-\d+/);
    }
    for (const body of [html, renderDigestText(merged.summary, { limits: zero })]) {
      expect(body).not.toContain('user-0');
      expect(body).not.toContain(silentAccount);
      expect(body).not.toMatch(/env-\d+|Root\/OU-/);
    }
    expect(moreLines(renderDigestText(merged.summary, { limits: zero }))).toEqual(moreLines(html));
  });
});

describe('digest bodies with three 10 MB user names', () => {
  it('shows a long user name of a previous run passed to merge (no ingest bound) cut to the display bound', async () => {
    const names = ['a', 'b', 'c'].map((ch) => ch.repeat(5_000));
    const { summary, html, text } = await longRemovedUsers(names);
    // The path really delivers the names whole: nothing before the renderer bounds them.
    expect(summary.delta!.removedUsers.items.map((u) => u.userName.length)).toEqual([5_000, 5_000, 5_000]);
    for (const ch of ['a', 'b', 'c']) {
      expect(html).toContain(`>${ch.repeat(DISPLAY_CELL_CHARS - 1)}…<`);
      expect(text).toContain(`${ch.repeat(DISPLAY_CELL_CHARS - 1)}…`);
      expect(html).not.toContain(ch.repeat(DISPLAY_CELL_CHARS));
    }
  });

  let summary: Summary;
  let html: string;
  let text: string;
  beforeAll(async () => {
    summary = withHugeNames((await longRemovedUsers(['bob'])).summary);
    html = renderDigestHtml(summary);
    text = renderDigestText(summary);
  });

  it('keeps both bodies small whichever list carries the names', () => {
    expect(summary.delta!.removedUsers.items.every((u) => u.userName.length === HUGE_NAME_CHARS)).toBe(true);
    expect(bytes(html)).toBeLessThan(100_000);
    expect(bytes(text)).toBeLessThan(50_000);
    // Each name appears in every list that holds it, as its first 199 characters and the ellipsis.
    const cutText = `0${'<'.repeat(DISPLAY_CELL_CHARS - 2)}…`;
    // riskiest keys, coverage (name and detail), removed users, resolved findings, warnings
    expect(text.split(cutText).length - 1).toBe(6);
    expect(text).not.toContain('<'.repeat(DISPLAY_CELL_CHARS));
  });

  it('keeps the HTML escaped after cutting', () => {
    expect(html).not.toMatch(/<<|&&|""/);
    expect(html).toContain(`>0${'&lt;'.repeat(DISPLAY_CELL_CHARS - 2)}…<`);
    expect(html).toContain(`>1${'&amp;'.repeat(DISPLAY_CELL_CHARS - 2)}…<`);
    expect(html).toContain(`>2${'&quot;'.repeat(DISPLAY_CELL_CHARS - 2)}…<`);
    expect(wellEscaped(html)).toBe(true);
  });
});
