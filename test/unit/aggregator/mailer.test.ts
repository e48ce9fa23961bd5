import 'aws-sdk-client-mock-jest';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  MailerError,
  composeDigestEmail,
  consoleUrl,
  digestSubject,
  estimateEmailBytes,
  sendDigestEmail,
} from '../../../aggregator/mailer';
import type { Summary } from '../../../core/summary';
import { FINDING_IDS, FindingId } from '../../../core/types';

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

describe('composeDigestEmail', () => {
  const base = {
    from: 'a@example.com',
    to: ['b@example.com'],
    summary: summary({}),
    organizationLabel: 'o-abc',
    html: '<html><body><h1>Digest</h1></body></html>',
    text: 'Digest',
    link: LINK,
  };

  it('attaches the gzipped CSV when the message fits', () => {
    const { email, attached, estimatedBytes } = composeDigestEmail({
      ...base,
      gzippedCsv: Buffer.alloc(1000, 1),
      maxEmailBytes: 100_000,
    });
    expect(attached).toBe(true);
    expect(email.attachment?.fileName).toBe('credential-report.csv.gz');
    expect(estimatedBytes).toBeLessThanOrEqual(100_000);
    expect(email.html).toMatch(/attached.*<\/p><\/body><\/html>$/);
  });

  it('links the CSV with its S3 URI and console URL when the attachment would pass the limit', () => {
    const { email, attached } = composeDigestEmail({
      ...base,
      gzippedCsv: Buffer.alloc(90_000, 1),
      maxEmailBytes: 100_000,
    });
    expect(attached).toBe(false);
    expect(email.attachment).toBeUndefined();
    expect(email.text).toContain('s3://hub-bucket/runs/date=2026-11-21/credential-report.csv');
    expect(email.text).toContain(consoleUrl(LINK));
    expect(email.html).toContain('open in the S3 console');
  });

  it('links the CSV when it was too large to capture at all', () => {
    const { attached } = composeDigestEmail({ ...base, maxEmailBytes: 100_000 });
    expect(attached).toBe(false);
  });

  it('counts base64 growth when estimating the size', () => {
    const small = estimateEmailBytes({ html: '', text: '', subject: 's' });
    expect(
      estimateEmailBytes({ html: '', text: '', subject: 's', attachmentBytes: 3_000 }) - small,
    ).toBeGreaterThanOrEqual(4_000);
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
