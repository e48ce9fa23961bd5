import 'aws-sdk-client-mock-jest';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ComposeOptions,
  DigestEmail,
  MailerError,
  composeDigestEmail,
  consoleUrl,
  digestSubject,
  estimateEmailBytes,
  sendDigestEmail,
} from '../../../aggregator/mailer';
import { halveLimits } from '../../../core/cap-rows';
import { DIGEST_LIMITS } from '../../../core/digest-html';
import { sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { FINDING_IDS, FindingId } from '../../../core/types';

import {
  fiftyThousandFindings,
  HUGE_NAMES,
  longRemovedUsers,
  merge,
  NOW,
  SILENT_ACCOUNTS,
  withHugeNames,
} from '../core/digest-fixtures';

const sesMock = mockClient(SESv2Client);
const ses = new SESv2Client({ region: 'eu-west-1' });

function summary(
  findings: Partial<Record<FindingId, number>>,
  delta?: { added: number; resolved: number },
): Summary {
  const counts = Object.fromEntries(FINDING_IDS.map((id) => [id, { users: findings[id] ?? 0, keys: 0 }]));
  return {
    generatedAt: '2026-11-21T06:00:00.000Z',
    findings: counts,
    coverage: {
      expected: 100,
      reporting: 98,
      stale: 1,
      missing: 1,
      unexpected: 0,
      complete: false,
      entries: [],
    },
    ...(delta
      ? {
          delta: {
            newFindings: { count: delta.added, items: [], byFinding: {} },
            resolvedFindings: { count: delta.resolved, items: [], byFinding: {} },
          },
        }
      : {}),
  } as unknown as Summary;
}

const LINK = { bucket: 'hub-bucket', key: 'runs/date=2026-11-21/credential-report.csv', region: 'eu-west-1' };

beforeEach(() => sesMock.reset());

describe('digestSubject', () => {
  it('names the org, date, root keys, findings with their change and coverage', () => {
    const s = summary(
      { 'root-access-key': 3, 'console-without-mfa': 20, 'key-not-rotated': 18 },
      { added: 5, resolved: 2 },
    );
    expect(digestSubject(s, 'o-abc')).toBe(
      'credreport o-abc 2026-11-21: 3 root keys, 41 findings (+5/\u22122), coverage 98/100',
    );
  });

  it('leaves the change out on a first run and uses the singular when there is one', () => {
    expect(digestSubject(summary({ 'root-access-key': 1 }), 'o-abc')).toBe(
      'credreport o-abc 2026-11-21: 1 root key, 1 finding, coverage 98/100',
    );
  });
});

/**
 * The message as SES could send it: multipart/mixed around multipart/alternative, each body in the given
 * transfer encoding (76-character lines), the attachment in base64. What the estimate must bound.
 */
function mimeMessage(email: DigestEmail, bodyEncoding: 'base64' | 'quoted-printable'): Buffer {
  const lines76 = (s: string): string => s.replace(/.{76}(?=.)/g, '$&\r\n');
  const qp = (body: string): string =>
    body
      .split('\n')
      .map((line) => {
        let out = '';
        let width = 0;
        for (const byte of Buffer.from(line, 'utf8')) {
          const piece =
            byte >= 0x20 && byte < 0x7f && byte !== 0x3d
              ? String.fromCharCode(byte)
              : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
          if (width + piece.length > 75) {
            out += '=\r\n';
            width = 0;
          }
          out += piece;
          width += piece.length;
        }
        return out;
      })
      .join('\r\n');
  const encode = (body: string): string =>
    bodyEncoding === 'base64' ? lines76(Buffer.from(body, 'utf8').toString('base64')) : qp(body);
  const part = (type: string, body: string): string =>
    `--alt\r\nContent-Type: ${type}; charset=UTF-8\r\nContent-Transfer-Encoding: ${bodyEncoding}\r\n\r\n${encode(body)}\r\n`;
  const attachment = email.attachment
    ? `--mixed\r\nContent-Type: ${email.attachment.contentType}; name="${email.attachment.fileName}"\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines76(email.attachment.content.toString('base64'))}\r\n`
    : '';
  const subject = `=?UTF-8?B?${Buffer.from(email.subject, 'utf8').toString('base64')}?=`;
  return Buffer.from(
    `From: ${email.from}\r\nTo: ${email.to.join(', ')}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="mixed"\r\n\r\n` +
      `--mixed\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n${part('text/plain', email.text)}${part('text/html', email.html)}--alt--\r\n` +
      `${attachment}--mixed--\r\n`,
    'utf8',
  );
}

/** Every "and N more — see …" line of a body. */
const moreLines = (body: string): string[] =>
  [...body.matchAll(/… and [\d,]+ more — see [^<\n]*?\./g)].map((m) => m[0]);

const RUN = 'runs/date=2026-11-21/';
const SUMMARY_URI = `s3://hub-bucket/${RUN}summary.json`;
const CSV_URI = `s3://hub-bucket/${RUN}credential-report.csv`;

describe('composeDigestEmail', () => {
  let sample: Summary;
  beforeAll(async () => {
    const org = sampleOrganization(NOW);
    sample = (await merge({ metadata: org.metadata, reports: org.reports })).summary;
  });
  const base = (): Omit<ComposeOptions, 'maxEmailBytes'> => ({
    from: 'a@example.com',
    to: ['b@example.com'],
    summary: sample,
    organizationLabel: 'o-abc',
    link: LINK,
    summaryKey: `${RUN}summary.json`,
    digestKey: `${RUN}digest.html`,
  });

  it('attaches the gzipped CSV when the message fits', () => {
    const { email, attached, estimatedBytes, body } = composeDigestEmail({
      ...base(),
      gzippedCsv: Buffer.alloc(1000, 1),
      maxEmailBytes: 100_000,
    });
    expect(attached).toBe(true);
    expect(body).toBe('full');
    expect(email.attachment?.fileName).toBe('credential-report.csv.gz');
    expect(estimatedBytes).toBeLessThanOrEqual(100_000);
    // The note is the last block inside the digest's 600 px layout, not appended after it.
    expect(email.html).toMatch(
      /attached \(<code>credential-report\.csv\.gz<\/code>\).*<\/p>\n<\/td><\/tr>\n<\/table>\n<\/td><\/tr><\/table>\n<\/body><\/html>\n$/,
    );
    expect(email.html).toContain('IAM credential digest: o-abc, 2024-06-01');
  });

  it('links the CSV with its S3 URI and console URL when the attachment would pass the limit', () => {
    const { email, attached } = composeDigestEmail({
      ...base(),
      gzippedCsv: Buffer.alloc(90_000, 1),
      maxEmailBytes: 100_000,
    });
    expect(attached).toBe(false);
    expect(email.attachment).toBeUndefined();
    expect(email.text).toContain(CSV_URI);
    expect(email.text).toContain(consoleUrl(LINK));
    expect(email.html).toContain('open in the S3 console');
  });

  it('links the CSV when it was too large to capture at all', () => {
    const { attached } = composeDigestEmail({ ...base(), maxEmailBytes: 100_000 });
    expect(attached).toBe(false);
  });

  it('counts base64 growth when estimating the size', () => {
    const small = estimateEmailBytes({ html: '', text: '', subject: 's' });
    expect(
      estimateEmailBytes({ html: '', text: '', subject: 's', attachmentBytes: 3_000 }) - small,
    ).toBeGreaterThanOrEqual(4_000);
  });

  it('counts a multi-byte body by its quoted-printable growth, beyond base64', () => {
    const empty = estimateEmailBytes({ html: '', text: '', subject: 's' });
    // 1,000 × "€" = 3,000 UTF-8 bytes: 4,000+ in base64, 9,000+ as =E2=82=AC.
    expect(
      estimateEmailBytes({ html: '€'.repeat(1_000), text: '', subject: 's' }) - empty,
    ).toBeGreaterThanOrEqual(9_000);
  });

  describe('for an organization with 50,000 findings', () => {
    let big: Summary;
    beforeAll(async () => {
      big = (await fiftyThousandFindings()).summary;
    }, 60_000);

    it('stays within maxEmailBytes with the CSV attached, each long list ending in "and N more — see the attached CSV"', () => {
      const gzippedCsv = Buffer.alloc(2_000_000, 7);
      const composed = composeDigestEmail({ ...base(), summary: big, gzippedCsv, maxEmailBytes: 10_000_000 });
      expect(composed).toMatchObject({ attached: true, body: 'full', halvings: 0 });
      expect(composed.estimatedBytes).toBeLessThanOrEqual(10_000_000);
      for (const encoding of ['base64', 'quoted-printable'] as const) {
        expect(mimeMessage(composed.email, encoding).length).toBeLessThanOrEqual(composed.estimatedBytes);
      }
      const newFindings = big.delta!.newFindings.count;
      expect(newFindings).toBe(150_000); // console-without-mfa + key-not-rotated per user, key-not-rotated per key
      const line = `… and ${(newFindings - DIGEST_LIMITS.deltaItems).toLocaleString('en-US')} more — see the attached CSV.`;
      expect(composed.email.html).toContain(line);
      expect(composed.email.text).toContain(line);
      expect(composed.email.html).toContain(
        `… and ${(SILENT_ACCOUNTS - DIGEST_LIMITS.coverageEntries).toLocaleString('en-US')} more — see ${SUMMARY_URI}.`,
      );
      expect(moreLines(composed.email.text)).toEqual(moreLines(composed.email.html));
    });

    it('names the CSV by its S3 URI in "and N more" when the CSV is linked', () => {
      const { email, attached } = composeDigestEmail({ ...base(), summary: big, maxEmailBytes: 10_000_000 });
      expect(attached).toBe(false);
      expect(email.html).toContain(`… and 49,980 more — see ${CSV_URI}.`);
      expect(email.text).toContain(`… and 49,980 more — see ${CSV_URI}.`);
      expect(email.html).not.toContain('the attached CSV');
    });

    it('halves the row limits, the same way every time, until the message fits', () => {
      const full = composeDigestEmail({ ...base(), summary: big, maxEmailBytes: 10_000_000 });
      const max = Math.floor(full.estimatedBytes / 3);
      const cut = composeDigestEmail({ ...base(), summary: big, maxEmailBytes: max });
      expect(cut.body).toBe('cut');
      expect(cut.halvings).toBeGreaterThan(0);
      expect(cut.estimatedBytes).toBeLessThanOrEqual(max);
      expect(mimeMessage(cut.email, 'quoted-printable').length).toBeLessThanOrEqual(max);
      // The first halving that fits: one fewer would not have.
      const limits = halveLimits(DIGEST_LIMITS, cut.halvings);
      expect(cut.email.text).toContain(
        `… and ${(50_000 - limits.deltaItems).toLocaleString('en-US')} more — see ${CSV_URI}.`,
      );
      const lessCut = composeDigestEmail({
        ...base(),
        summary: big,
        maxEmailBytes: 10_000_000,
        limits: halveLimits(DIGEST_LIMITS, cut.halvings - 1),
      });
      expect(lessCut.estimatedBytes).toBeGreaterThan(max);
      expect(composeDigestEmail({ ...base(), summary: big, maxEmailBytes: max }).email).toEqual(cut.email);
    });

    it('sends a short notice naming the S3 outputs when even a digest without rows does not fit', () => {
      const zero = halveLimits(DIGEST_LIMITS, 99);
      const rowless = composeDigestEmail({
        ...base(),
        summary: big,
        maxEmailBytes: 10_000_000,
        limits: zero,
      });
      const max = rowless.estimatedBytes - 1;
      const { email, body, estimatedBytes, attached } = composeDigestEmail({
        ...base(),
        summary: big,
        gzippedCsv: Buffer.alloc(1_000, 1),
        maxEmailBytes: max,
      });
      expect(body).toBe('too-large');
      expect(attached).toBe(false);
      expect(estimatedBytes).toBeLessThanOrEqual(max);
      expect(mimeMessage(email, 'quoted-printable').length).toBeLessThanOrEqual(max);
      for (const part of [email.text, email.html]) {
        expect(part).toContain('too large for one email');
        expect(part).toContain(
          'Coverage (INCOMPLETE): 50 of 2,050 expected accounts reporting, 2,000 missing.',
        );
        expect(part).toContain(SUMMARY_URI);
        expect(part).toContain(`s3://hub-bucket/${RUN}digest.html`);
        expect(part).toContain(CSV_URI);
      }
      expect(email.subject).toContain('100,000 findings'); // users × (console-without-mfa, key-not-rotated)
    });

    it('refuses with MailerError when maxEmailBytes cannot hold even the notice', () => {
      expect(() => composeDigestEmail({ ...base(), summary: big, maxEmailBytes: 9_000 })).toThrow(
        /maxEmailBytes \(9000\) is too small even for the short notice/,
      );
    });
  });

  it('keeps the message small when the summary carries three 10 MB user names', async () => {
    const huge = withHugeNames((await longRemovedUsers(['bob'])).summary);
    const composed = composeDigestEmail({
      ...base(),
      summary: huge,
      organizationLabel: HUGE_NAMES[0]!,
      gzippedCsv: Buffer.alloc(1_000, 1),
      maxEmailBytes: 10_000_000,
    });
    expect(composed).toMatchObject({ attached: true, body: 'full' });
    expect(composed.estimatedBytes).toBeLessThan(300_000);
    expect(Buffer.byteLength(composed.email.subject, 'utf8')).toBeLessThan(1_000);
    expect(mimeMessage(composed.email, 'quoted-printable').length).toBeLessThanOrEqual(
      composed.estimatedBytes,
    );
  });
});

describe('sendDigestEmail', () => {
  it('sends a Simple message with Html, Text and the attachment', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const ids = await sendDigestEmail(ses, {
      from: 'a@example.com',
      to: ['b@example.com'],
      subject: 'S',
      html: '<p>h</p>',
      text: 't',
      attachment: {
        fileName: 'credential-report.csv.gz',
        content: Buffer.from([1, 2, 3]),
        contentType: 'application/gzip',
      },
    });
    expect(ids).toEqual(['m-1']);
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      FromEmailAddress: 'a@example.com',
      Destination: { ToAddresses: ['b@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'S', Charset: 'UTF-8' },
          Body: { Html: { Data: '<p>h</p>', Charset: 'UTF-8' }, Text: { Data: 't', Charset: 'UTF-8' } },
          Attachments: [
            {
              FileName: 'credential-report.csv.gz',
              RawContent: Buffer.from([1, 2, 3]),
              ContentType: 'application/gzip',
              ContentDisposition: 'ATTACHMENT',
              ContentTransferEncoding: 'BASE64',
            },
          ],
        },
      },
    });
  });

  it('sends in batches of 50 recipients', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm' });
    const to = Array.from({ length: 120 }, (_, i) => `r${i}@example.com`);
    await sendDigestEmail(ses, { from: 'a@example.com', to, subject: 'S', html: 'h', text: 't' });
    const sizes = sesMock
      .commandCalls(SendEmailCommand)
      .map((c) => c.args[0].input.Destination?.ToAddresses?.length);
    expect(sizes).toEqual([50, 50, 20]);
  });

  it('throws MailerError keeping the cause when SES refuses', async () => {
    const cause = Object.assign(new Error('not verified'), { name: 'MessageRejected' });
    sesMock.on(SendEmailCommand).rejects(cause);
    const error = await sendDigestEmail(ses, {
      from: 'a@example.com',
      to: ['b@example.com'],
      subject: 'S',
      html: 'h',
      text: 't',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailerError);
    expect((error as MailerError).message).toMatch(/MessageRejected/);
    expect((error as MailerError).cause).toBe(cause);
  });
});
