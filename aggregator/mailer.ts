/**
 * The digest email (SES v2 SendEmail, Simple content with Attachments): subject with the org, date,
 * finding counts and change, the HTML digest plus a plain-text part, and the merged CSV attached
 * gzip-compressed — or, when the message would exceed the size limit, an S3 link instead. The whole
 * message never exceeds `maxEmailBytes` (docs/ARCHITECTURE.md §6 "Email"): the bodies are rendered here,
 * cut further when they do not fit, and replaced by a short notice as a last resort.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { displayCell, halveLimits, halvingSteps } from '../core/cap-rows';
import {
  DIGEST_LIMITS,
  DigestLimits,
  FullListsAt,
  coverageLine,
  renderDigestHtml,
  renderDigestText,
} from '../core/digest-html';
import { escapeHtml } from '../core/html-escape';
import { CredreportError } from '../core/errors';
import type { Summary } from '../core/summary';
import { FINDING_IDS } from '../core/types';

/** SendEmail failed (after the SDK's retries). */
export class MailerError extends CredreportError {}

/** SES accepts at most 50 recipients per message. */
const MAX_RECIPIENTS_PER_MESSAGE = 50;
/** Headers, MIME boundaries and part headers, generously. */
const MIME_OVERHEAD_BYTES = 8 * 1024;

export interface DigestAttachment {
  readonly fileName: string;
  readonly content: Buffer;
  readonly contentType: string;
}

/** Where the CSV lives when it is linked rather than attached. */
export interface CsvLink {
  readonly bucket: string;
  readonly key: string;
  readonly region?: string;
}

export interface DigestEmail {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  readonly attachment?: DigestAttachment;
}

const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;
/** MIME base64 adds CRLF every 76 characters. */
const mimeBase64Bytes = (bytes: number): number => {
  const b64 = base64Length(bytes);
  return b64 + Math.ceil(b64 / 76) * 2;
};

/**
 * Upper bound of a body quoted-printable encoded: every byte outside printable ASCII (and `=`) as `=XX`,
 * a soft line break (`=` CRLF) per 73 encoded characters, LF written as CRLF.
 */
function quotedPrintableBytes(body: Buffer): number {
  let encoded = 0;
  let lineEnds = 0;
  for (const byte of body) {
    if (byte === 0x0a) lineEnds++;
    else encoded += byte >= 0x20 && byte < 0x7f && byte !== 0x3d ? 1 : 3;
  }
  return encoded + Math.ceil(encoded / 73) * 3 + lineEnds * 2;
}

/** A text or HTML body as SES may encode it: the larger of base64 and quoted-printable, of its UTF-8 bytes. */
function mimeBodyBytes(body: string): number {
  const bytes = Buffer.from(body, 'utf8');
  return Math.max(mimeBase64Bytes(bytes.length), quotedPrintableBytes(bytes));
}

/**
 * Size of the message SES would send, estimated from the parts: headers and boundaries, the subject (as an
 * encoded word), each body in the larger of its two possible transfer encodings, the attachment in base64.
 */
export function estimateEmailBytes(parts: {
  html: string;
  text: string;
  subject: string;
  attachmentBytes?: number;
}): number {
  return (
    MIME_OVERHEAD_BYTES +
    Buffer.byteLength(parts.subject, 'utf8') * 3 +
    mimeBodyBytes(parts.html) +
    mimeBodyBytes(parts.text) +
    (parts.attachmentBytes === undefined ? 0 : mimeBase64Bytes(parts.attachmentBytes))
  );
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * `credreport o-abc 2026-11-21: 3 root keys, 41 findings (+5/−2), coverage 98/100`. "findings" counts
 * user-level findings (a user with two findings counts twice); the change is the delta's new/resolved
 * findings, omitted on a first run.
 */
export function digestSubject(summary: Summary, organizationLabel: string): string {
  const date = summary.generatedAt.slice(0, 10);
  const rootKeys = summary.findings['root-access-key']?.users ?? 0;
  const total = FINDING_IDS.reduce((sum, id) => sum + (summary.findings[id]?.users ?? 0), 0);
  const delta = summary.delta
    ? ` (+${fmt(summary.delta.newFindings.count)}/\u2212${fmt(summary.delta.resolvedFindings.count)})`
    : '';
  const c = summary.coverage;
  return `credreport ${organizationLabel} ${date}: ${fmt(rootKeys)} root key${rootKeys === 1 ? '' : 's'}, ${fmt(total)} finding${total === 1 ? '' : 's'}${delta}, coverage ${fmt(c.reporting)}/${fmt(c.expected)}`;
}

/** https console URL of an S3 object. */
export function consoleUrl(link: CsvLink): string {
  const region = link.region ? `region=${encodeURIComponent(link.region)}&` : '';
  return `https://s3.console.aws.amazon.com/s3/object/${encodeURIComponent(link.bucket)}?${region}bucketType=general&prefix=${encodeURIComponent(link.key)}`;
}

/** Inline style of the mailer's note in the digest (email clients drop style sheets). */
const NOTE_STYLE =
  'font-family:Arial,Helvetica,sans-serif;font-size:13px;line-height:18px;margin:8px 0 0 0;color:#1b1f24;';

export interface ComposeOptions {
  readonly from: string;
  readonly to: readonly string[];
  readonly summary: Summary;
  readonly organizationLabel: string;
  /** The gzip-compressed CSV, when it was captured within the size limit. */
  readonly gzippedCsv?: Buffer;
  /** Where the CSV is in S3 (always named in the mail; the only way to it when not attached). */
  readonly link: CsvLink;
  /** Keys of the run's summary.json and digest.html in the same bucket (named by "and N more" and the notice). */
  readonly summaryKey: string;
  readonly digestKey: string;
  /** Largest message, MIME-encoded (bodies, attachment, headers), in bytes. */
  readonly maxEmailBytes: number;
  /** Rows per list before any cut. @default DIGEST_LIMITS */
  readonly limits?: DigestLimits;
}

/** Which body the message carries (docs/ARCHITECTURE.md §6 "Email"). */
export type DigestBody =
  /** The digest with every list at its row limit. */
  | 'full'
  /** The digest with the row limits halved `halvings` times so that the message fits. */
  | 'cut'
  /** Even without rows the digest did not fit: a short notice naming the S3 outputs. */
  | 'too-large';

export interface ComposedEmail {
  readonly email: DigestEmail;
  readonly attached: boolean;
  readonly estimatedBytes: number;
  readonly body: DigestBody;
  /** Times the row limits were halved (0 for `full`). */
  readonly halvings: number;
}

const s3Uri = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/**
 * Builds the email so that the whole message never exceeds `maxEmailBytes`, deciding in this fixed order:
 * 1. the digest at its row limits with the CSV attached, when that fits;
 * 2. else the CSV linked, with the row limits halved (0, 1, 2, … times, until every list shows no row)
 *    until the message fits;
 * 3. else a short notice that the digest is too large, naming the S3 outputs.
 * Throws MailerError when even the notice does not fit (a `maxEmailBytes` below a few kilobytes).
 */
export function composeDigestEmail(opts: ComposeOptions): ComposedEmail {
  // The label is shown in the subject and the title: bounded like any other value of the digest.
  const label = displayCell(opts.organizationLabel);
  const subject = digestSubject(opts.summary, label);
  const csvUri = s3Uri(opts.link.bucket, opts.link.key);
  const summaryUri = s3Uri(opts.link.bucket, opts.summaryKey);
  const url = consoleUrl(opts.link);
  const limits = opts.limits ?? DIGEST_LIMITS;
  // The note on where the CSV is goes inside the digest's layout, as its last block.
  const render = (
    fullListsAt: FullListsAt,
    step: number,
    noteHtml: string,
  ): { html: string; text: string } => {
    const options = { organizationLabel: label, limits: halveLimits(limits, step), fullListsAt };
    return {
      html: renderDigestHtml(opts.summary, { ...options, trustedFooterHtml: noteHtml }),
      text: renderDigestText(opts.summary, options),
    };
  };
  const message = (html: string, text: string, attachment?: DigestAttachment): DigestEmail => ({
    from: opts.from,
    to: opts.to,
    subject,
    html,
    text,
    ...(attachment ? { attachment } : {}),
  });

  if (opts.gzippedCsv) {
    const rendered = render(
      { csv: 'the attached CSV', summary: summaryUri },
      0,
      `<p style="${NOTE_STYLE}">The merged credential report is attached (<code>credential-report.csv.gz</code>) and stored at <code>${escapeHtml(csvUri)}</code>.</p>`,
    );
    const html = rendered.html;
    const text = `${rendered.text}\nThe merged credential report is attached (credential-report.csv.gz) and stored at ${csvUri}.\n`;
    const estimatedBytes = estimateEmailBytes({
      html,
      text,
      subject,
      attachmentBytes: opts.gzippedCsv.length,
    });
    if (estimatedBytes <= opts.maxEmailBytes) {
      const attachment = {
        fileName: 'credential-report.csv.gz',
        content: opts.gzippedCsv,
        contentType: 'application/gzip',
      };
      return {
        email: message(html, text, attachment),
        attached: true,
        estimatedBytes,
        body: 'full',
        halvings: 0,
      };
    }
  }

  const steps = halvingSteps(limits);
  for (let step = 0; step <= steps; step++) {
    const rendered = render(
      { csv: csvUri, summary: summaryUri },
      step,
      `<p style="${NOTE_STYLE}">The merged credential report is too large to attach. Download it from <code>${escapeHtml(csvUri)}</code> (<a href="${escapeHtml(url)}">open in the S3 console</a>) or with <code>credreport fetch</code>.</p>`,
    );
    const html = rendered.html;
    const text = `${rendered.text}\nThe merged credential report is too large to attach. Download it from ${csvUri}\n(console: ${url}) or with \`credreport fetch\`.\n`;
    const estimatedBytes = estimateEmailBytes({ html, text, subject });
    if (estimatedBytes <= opts.maxEmailBytes) {
      return {
        email: message(html, text),
        attached: false,
        estimatedBytes,
        body: step === 0 ? 'full' : 'cut',
        halvings: step,
      };
    }
  }

  const notice = tooLargeNotice(opts, label, { csvUri, summaryUri, url });
  const estimatedBytes = estimateEmailBytes({ ...notice, subject });
  if (estimatedBytes > opts.maxEmailBytes) {
    throw new MailerError(
      `maxEmailBytes (${opts.maxEmailBytes}) is too small even for the short notice (${estimatedBytes} bytes)`,
    );
  }
  return {
    email: message(notice.html, notice.text),
    attached: false,
    estimatedBytes,
    body: 'too-large',
    halvings: steps,
  };
}

/** The last resort: coverage (which must never read "fine" by omission) and where the outputs are. */
function tooLargeNotice(
  opts: ComposeOptions,
  label: string,
  at: { csvUri: string; summaryUri: string; url: string },
): { html: string; text: string } {
  const date = opts.summary.generatedAt.slice(0, 10);
  const c = opts.summary.coverage;
  const coverage = `Coverage (${c.complete ? 'complete' : 'INCOMPLETE'}): ${coverageLine(opts.summary)}.`;
  const digestUri = s3Uri(opts.link.bucket, opts.digestKey);
  const why = `This digest is too large for one email (more than ${fmt(opts.maxEmailBytes)} bytes even with its lists cut). Read it in S3:`;
  const outputs: [string, string][] = [
    ['the digest', digestUri],
    ['summary.json', at.summaryUri],
    ['the merged credential report', at.csvUri],
  ];
  const text = [
    `IAM credential digest: ${label}, ${date}`,
    '',
    coverage,
    '',
    why,
    ...outputs.map(([what, uri]) => `  ${what}: ${uri}`),
    `  (console: ${at.url})`,
    '',
    'or with `credreport fetch --digest`, `credreport fetch --summary` and `credreport fetch`.',
    '',
  ].join('\n');
  const html = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"></head><body>',
    `<h1>${escapeHtml(`IAM credential digest: ${label}, ${date}`)}</h1>`,
    `<p>${escapeHtml(coverage)}</p>`,
    `<p>${escapeHtml(why)}</p>`,
    `<ul>${outputs.map(([what, uri]) => `<li>${escapeHtml(what)}: <code>${escapeHtml(uri)}</code></li>`).join('')}</ul>`,
    `<p><a href="${escapeHtml(at.url)}">Open the credential report in the S3 console</a>, or use <code>credreport fetch --digest</code>, <code>credreport fetch --summary</code> and <code>credreport fetch</code>.</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { html, text };
}

/** Sends the email (in batches of 50 recipients). Returns the SES message ids; throws MailerError. */
export async function sendDigestEmail(ses: SESv2Client, email: DigestEmail): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < email.to.length; i += MAX_RECIPIENTS_PER_MESSAGE) {
    const to = email.to.slice(i, i + MAX_RECIPIENTS_PER_MESSAGE);
    try {
      const out = await ses.send(
        new SendEmailCommand({
          FromEmailAddress: email.from,
          Destination: { ToAddresses: [...to] },
          Content: {
            Simple: {
              Subject: { Data: email.subject, Charset: 'UTF-8' },
              Body: {
                Html: { Data: email.html, Charset: 'UTF-8' },
                Text: { Data: email.text, Charset: 'UTF-8' },
              },
              ...(email.attachment
                ? {
                    Attachments: [
                      {
                        FileName: email.attachment.fileName,
                        RawContent: email.attachment.content,
                        ContentType: email.attachment.contentType,
                        ContentDisposition: 'ATTACHMENT',
                        ContentTransferEncoding: 'BASE64',
                      },
                    ],
                  }
                : {}),
            },
          },
        }),
      );
      if (out.MessageId) ids.push(out.MessageId);
    } catch (error) {
      throw new MailerError(
        `SES SendEmail failed for ${to.length} recipient(s)${ids.length > 0 ? ` (after ${ids.length} message(s) were sent)` : ''}: ${error instanceof Error ? error.name : String(error)}`,
        { cause: error },
      );
    }
  }
  return ids;
}
