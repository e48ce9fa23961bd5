/**
 * The digest email (SES v2 SendEmail, Simple content with Attachments): subject with the org, date,
 * finding counts and change, the HTML digest plus a plain-text part, and the merged CSV attached
 * gzip-compressed — or, when the message would exceed the size limit, an S3 link instead.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
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

/** Size of the message SES would send, estimated from the parts (every part base64-encoded). */
export function estimateEmailBytes(parts: {
  html: string;
  text: string;
  subject: string;
  attachmentBytes?: number;
}): number {
  return (
    MIME_OVERHEAD_BYTES +
    Buffer.byteLength(parts.subject, 'utf8') * 2 +
    mimeBase64Bytes(Buffer.byteLength(parts.html, 'utf8')) +
    mimeBase64Bytes(Buffer.byteLength(parts.text, 'utf8')) +
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

function appendToHtml(html: string, fragment: string): string {
  const at = html.lastIndexOf('</body>');
  return at >= 0 ? `${html.slice(0, at)}${fragment}${html.slice(at)}` : `${html}${fragment}`;
}

export interface ComposeOptions {
  readonly from: string;
  readonly to: readonly string[];
  readonly summary: Summary;
  readonly organizationLabel: string;
  readonly html: string;
  readonly text: string;
  /** The gzip-compressed CSV, when it was captured within the size limit. */
  readonly gzippedCsv?: Buffer;
  /** Where the CSV is in S3 (always named in the mail; the only way to it when not attached). */
  readonly link: CsvLink;
  readonly maxEmailBytes: number;
}

/** Builds the email: attaches the CSV when the whole message fits `maxEmailBytes`, else links it. */
export function composeDigestEmail(opts: ComposeOptions): {
  email: DigestEmail;
  attached: boolean;
  estimatedBytes: number;
} {
  const subject = digestSubject(opts.summary, opts.organizationLabel);
  const s3Uri = `s3://${opts.link.bucket}/${opts.link.key}`;
  const url = consoleUrl(opts.link);
  const attachedNote = {
    text: `\n\nThe merged credential report is attached (credential-report.csv.gz) and stored at ${s3Uri}.\n`,
    html: `<p>The merged credential report is attached (<code>credential-report.csv.gz</code>) and stored at <code>${escapeHtml(s3Uri)}</code>.</p>`,
  };
  const linkedNote = {
    text: `\n\nThe merged credential report is too large to attach. Download it from ${s3Uri}\n(console: ${url}) or with \`credreport fetch\`.\n`,
    html: `<p>The merged credential report is too large to attach. Download it from <code>${escapeHtml(s3Uri)}</code> (<a href="${escapeHtml(url)}">open in the S3 console</a>) or with <code>credreport fetch</code>.</p>`,
  };
  if (opts.gzippedCsv) {
    const html = appendToHtml(opts.html, attachedNote.html);
    const text = opts.text + attachedNote.text;
    const estimatedBytes = estimateEmailBytes({
      html,
      text,
      subject,
      attachmentBytes: opts.gzippedCsv.length,
    });
    if (estimatedBytes <= opts.maxEmailBytes) {
      return {
        email: {
          from: opts.from,
          to: opts.to,
          subject,
          html,
          text,
          attachment: {
            fileName: 'credential-report.csv.gz',
            content: opts.gzippedCsv,
            contentType: 'application/gzip',
          },
        },
        attached: true,
        estimatedBytes,
      };
    }
  }
  const html = appendToHtml(opts.html, linkedNote.html);
  const text = opts.text + linkedNote.text;
  return {
    email: { from: opts.from, to: opts.to, subject, html, text },
    attached: false,
    estimatedBytes: estimateEmailBytes({ html, text, subject }),
  };
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
