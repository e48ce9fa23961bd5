/**
 * Chat and routing (docs/ARCHITECTURE.md §6 "Chat and routing"): what the digest tells a chat channel and an
 * event bus after each run. Pure: it builds messages and events from the run's summary and its new critical or
 * high findings; aggregator/notifier.ts sends them.
 *
 * - The chat summary is an Amazon Q Developer in chat applications (formerly AWS Chatbot) custom notification
 *   (`version` 1.0, `source` custom, `content.textType` client-markdown), published to an SNS topic mapped to
 *   a Slack or Microsoft Teams channel. It holds counts and links only: no user, key or account name from a
 *   member report reaches the markdown, so a hostile report cannot inject chat formatting or links.
 * - One EventBridge event per new critical or high finding (`credreport.findings`, {@link FindingEventDetail}),
 *   at most `maxEvents` per run, then one {@link FindingsTruncatedDetail} event saying how many were left out.
 */
import * as z from 'zod';
import { FINDING_CONTROLS, FINDING_SEVERITY, FindingId, SEVERITIES, Severity } from './finding-ids';
import { FINDING_EVENT_DETAIL_TYPE, FINDINGS_EVENT_SOURCE, FINDINGS_TRUNCATED_DETAIL_TYPE } from './names';
import type { Summary } from './summary';

/** Severities that make a new finding an event and count in the chat summary's "new" figure. */
export const NOTIFIED_SEVERITIES: readonly Severity[] = ['critical', 'high'];

/** A new critical or high finding of this run (not open on the same user or key in the previous run). */
export interface NewFinding {
  readonly accountId: string;
  readonly accountName?: string;
  readonly userName: string;
  readonly userArn: string;
  /** Absent for a user's own findings, or when the key id is unknown (root keys). */
  readonly accessKeyId?: string;
  readonly keySlot?: 1 | 2;
  readonly findingId: FindingId;
  /** ISO time; this run's time (a new finding is first seen now). */
  readonly firstSeen: string;
}

/** The run's new critical and high findings: how many, and the first `limit` (in output order). */
export interface NewFindings {
  readonly count: number;
  readonly items: readonly NewFinding[];
}

/** Collects new findings during a run (core/findings-csv.ts calls `add`); keeps at most `limit` items. */
export class NewFindingCollector {
  private total = 0;
  private readonly kept: NewFinding[] = [];

  constructor(private readonly limit: number) {}

  /** Whether a new finding of `id` is collected at all (its severity is notified). */
  static notifies(id: FindingId): boolean {
    return NOTIFIED_SEVERITIES.includes(FINDING_SEVERITY[id]);
  }

  add(finding: NewFinding): void {
    this.total++;
    if (this.kept.length < this.limit) this.kept.push(finding);
  }

  result(): NewFindings {
    return { count: this.total, items: [...this.kept] };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Chat: the custom notification

/**
 * Bounds of a custom notification, from the Amazon Q Developer in chat applications administrator guide
 * ("Custom notifications", parameter details): `version` must be 1.0, `source` must be custom, only
 * client-markdown is supported as `textType`; title up to 250 characters, description up to 8,000.
 */
export const CUSTOM_NOTIFICATION_BOUNDS = {
  titleChars: 250,
  descriptionChars: 8_000,
  nextSteps: 5,
  nextStepChars: 500,
  keywords: 10,
  keywordChars: 100,
  /** An SNS message is at most 256 KB; the notification stays far below it. */
  messageBytes: 256 * 1024,
} as const;

const B = CUSTOM_NOTIFICATION_BOUNDS;

/** The custom notification event schema (strict: a field the service does not know is refused here). */
export const CustomNotificationSchema = z.strictObject({
  version: z.literal('1.0'),
  source: z.literal('custom'),
  id: z.string().min(1).max(256).optional(),
  content: z.strictObject({
    textType: z.literal('client-markdown'),
    title: z.string().min(1).max(B.titleChars),
    description: z.string().min(1).max(B.descriptionChars),
    nextSteps: z.array(z.string().min(1).max(B.nextStepChars)).max(B.nextSteps).optional(),
    keywords: z.array(z.string().min(1).max(B.keywordChars)).max(B.keywords).optional(),
  }),
  metadata: z
    .strictObject({
      threadId: z.string().min(1).max(256).optional(),
      summary: z.string().min(1).max(B.titleChars).optional(),
      eventType: z.string().min(1).max(128).optional(),
      relatedResources: z.array(z.string().min(1).max(2_048)).max(10).optional(),
      additionalContext: z.record(z.string().max(128), z.string().max(1_024)).optional(),
    })
    .optional(),
});
export type CustomNotification = z.infer<typeof CustomNotificationSchema>;

/** Where the run's digest is. */
export interface DigestLocation {
  /** `s3://bucket/latest/digest.html`. */
  readonly s3Uri: string;
  /** The S3 console page of the object, when the region is known. */
  readonly consoleUrl?: string;
}

export interface ChatSummaryInput {
  readonly summary: Summary;
  /** Undefined on a first run (no previous run to compare with). */
  readonly newFindings?: NewFindings;
  readonly digest: DigestLocation;
  /** E.g. the organization id; written as code, so it cannot format the message. */
  readonly organizationLabel?: string;
}

const num = (n: number): string => n.toLocaleString('en-US');

/** A value shown inside backticks: no backtick, no line break, cut to `max` characters. */
function code(value: string, max = 200): string {
  return `\`${value.replace(/[`\r\n]/g, ' ').slice(0, max)}\``;
}

/** The reasons of the coverage entries of accounts not reporting, counted (`2 stale, 1 never reported`). */
function coverageProblems(summary: Summary): string | undefined {
  const counts = new Map<string, number>();
  for (const entry of summary.coverage.entries) {
    const reason = entry.reason ?? entry.status;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const unattributed = summary.coverage.unattributed ?? 0;
  if (unattributed > 0) counts.set('naming no account', unattributed);
  if (counts.size === 0) return undefined;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, n]) => `${num(n)} ${reason.replace(/-/g, ' ')}`)
    .join(', ');
}

/**
 * The chat summary of one run: open findings per severity, new critical/high findings, coverage and its
 * problems, where the digest is. Validated against {@link CustomNotificationSchema} before it is returned.
 */
export function buildChatNotification(input: ChatSummaryInput): CustomNotification {
  const { summary } = input;
  const open = summary.totals.openFindings;
  const urgent = open.critical + open.high;
  const c = summary.coverage;
  const date = summary.generatedAt.slice(0, 10);
  const label = input.organizationLabel ?? summary.organizationLabel ?? summary.organizationId;
  const title = `credreport ${date}: ${num(urgent)} open critical/high finding${urgent === 1 ? '' : 's'}${
    input.newFindings ? `, ${num(input.newFindings.count)} new` : ''
  }`;
  const lines = [
    ...(label ? [`*Organization:* ${code(label, 64)}`] : []),
    `*Open findings:* ${SEVERITIES.map((s) => `${num(open[s])} ${s}`).join(' · ')}`,
    input.newFindings
      ? `*New critical/high since the previous run:* ${num(input.newFindings.count)}`
      : '*New critical/high since the previous run:* first run, nothing to compare with',
    `*Coverage:* ${num(c.reporting)} of ${num(c.expected)} expected accounts reporting, ${num(c.missing)} missing${
      c.complete ? '' : ' (incomplete)'
    }`,
  ];
  const problems = coverageProblems(summary);
  if (problems) lines.push(`*Coverage problems:* ${problems}`);
  lines.push(`*Digest:* ${code(input.digest.s3Uri, 1_200)}`);
  const nextSteps = [
    ...(input.digest.consoleUrl
      ? [`Open the digest: ${input.digest.consoleUrl}`.slice(0, B.nextStepChars)]
      : []),
    ...(urgent > 0 ? ['Triage the critical and high findings in findings.csv (latest/)'] : []),
    ...(c.missing > 0 ? ['Check the accounts missing from coverage'] : []),
  ];
  const notification = {
    version: '1.0' as const,
    source: 'custom' as const,
    id: `credreport-${summary.generatedAt}`,
    content: {
      textType: 'client-markdown' as const,
      title: title.slice(0, B.titleChars),
      description: lines.join('\n').slice(0, B.descriptionChars),
      ...(nextSteps.length > 0 ? { nextSteps } : {}),
      keywords: ['credreport', ...(urgent > 0 ? ['critical-high'] : []), ...(c.complete ? [] : ['coverage'])],
    },
    metadata: {
      threadId: 'credreport-digest',
      summary: title.slice(0, B.titleChars),
      eventType: 'credreport-digest',
      additionalContext: {
        runDate: date,
        openCritical: String(open.critical),
        openHigh: String(open.high),
        newCriticalHigh: input.newFindings ? String(input.newFindings.count) : 'first run',
        accountsMissing: String(c.missing),
      },
    },
  };
  return CustomNotificationSchema.parse(notification);
}

// ---------------------------------------------------------------------------------------------------------
// Routing: EventBridge events

/** Bounds of one finding event's fields (the sources are bounded at ingest; these keep a digest-side bug out). */
const FindingEventDetailSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Stable across runs for the same user or key and finding: `<account>/<user>/<key id | slot N | user>/<finding>`. */
  uid: z.string().min(1).max(512),
  findingId: z.string().min(1).max(64),
  severity: z.enum(SEVERITIES),
  accountId: z.string().regex(/^\d{12}$/),
  accountName: z.string().max(256).optional(),
  userName: z.string().min(1).max(256),
  userArn: z.string().max(2_048),
  accessKeyId: z.string().max(128).optional(),
  keySlot: z.union([z.literal(1), z.literal(2)]).optional(),
  cis: z.strictObject({
    v4: z.string().max(16).optional(),
    v5: z.string().max(16).optional(),
    v6: z.string().max(16).optional(),
    v7: z.string().max(16).optional(),
  }),
  securityHubControl: z.string().max(32).optional(),
  firstSeen: z.iso.datetime({ offset: true }),
  runDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  generatedAt: z.iso.datetime({ offset: true }),
  organizationId: z.string().max(64).optional(),
  findingsUri: z.string().max(1_200).optional(),
});
export type FindingEventDetail = z.infer<typeof FindingEventDetailSchema>;
export { FindingEventDetailSchema };

export const FindingsTruncatedDetailSchema = z.strictObject({
  schemaVersion: z.literal(1),
  runDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  generatedAt: z.iso.datetime({ offset: true }),
  /** New critical and high findings of the run. */
  newFindings: z.number().int().nonnegative(),
  /** Finding events built (the cap, or fewer). */
  sent: z.number().int().nonnegative(),
  /** `newFindings - sent`: the "… and N more". */
  more: z.number().int().positive(),
  organizationId: z.string().max(64).optional(),
  findingsUri: z.string().max(1_200).optional(),
});
export type FindingsTruncatedDetail = z.infer<typeof FindingsTruncatedDetailSchema>;

/** One PutEvents entry, SDK-free (aggregator/notifier.ts adds the bus). */
export interface BusEntry {
  readonly source: string;
  readonly detailType: string;
  readonly detail: string;
}

/**
 * EventBridge's size of an entry: the UTF-8 bytes of Source, DetailType and Detail (Time and Resources are
 * not set). Every entry must be at most {@link MAX_EVENT_ENTRY_BYTES}.
 */
export function busEntryBytes(entry: BusEntry): number {
  return (
    Buffer.byteLength(entry.source, 'utf8') +
    Buffer.byteLength(entry.detailType, 'utf8') +
    Buffer.byteLength(entry.detail, 'utf8')
  );
}

/** The 256 KB entry limit (partitions that have not moved to 1 MB events). */
export const MAX_EVENT_ENTRY_BYTES = 256 * 1024;

export interface FindingEventsInput {
  readonly newFindings: NewFindings;
  readonly generatedAt: string;
  readonly runDate: string;
  /** At most this many finding events; one truncation event follows when there were more. */
  readonly maxEvents: number;
  readonly organizationId?: string;
  /** `s3://bucket/runs/date=…/findings.csv`. */
  readonly findingsUri?: string;
}

/** The stable id of a finding on a user or key. */
export function findingUid(f: NewFinding): string {
  const on = f.accessKeyId ?? (f.keySlot !== undefined ? `slot${f.keySlot}` : 'user');
  return `${f.accountId}/${f.userName}/${on}/${f.findingId}`;
}

/** The run's entries: one per new finding up to `maxEvents`, then the truncation event when some were left out. */
export function buildFindingEvents(input: FindingEventsInput): BusEntry[] {
  const shared = {
    runDate: input.runDate,
    generatedAt: input.generatedAt,
    ...(input.organizationId ? { organizationId: input.organizationId } : {}),
    ...(input.findingsUri ? { findingsUri: input.findingsUri } : {}),
  };
  const shown = input.newFindings.items.slice(0, Math.max(0, input.maxEvents));
  const entries: BusEntry[] = shown.map((f) => {
    const controls = FINDING_CONTROLS[f.findingId];
    const detail: FindingEventDetail = FindingEventDetailSchema.parse({
      schemaVersion: 1,
      uid: findingUid(f),
      findingId: f.findingId,
      severity: FINDING_SEVERITY[f.findingId],
      accountId: f.accountId,
      ...(f.accountName ? { accountName: f.accountName } : {}),
      userName: f.userName,
      userArn: f.userArn,
      ...(f.accessKeyId ? { accessKeyId: f.accessKeyId } : {}),
      ...(f.keySlot !== undefined ? { keySlot: f.keySlot } : {}),
      cis: {
        ...(controls.cisV4 ? { v4: controls.cisV4 } : {}),
        ...(controls.cisV5 ? { v5: controls.cisV5 } : {}),
        ...(controls.cisV6 ? { v6: controls.cisV6 } : {}),
        ...(controls.cisV7 ? { v7: controls.cisV7 } : {}),
      },
      ...(controls.securityHub ? { securityHubControl: controls.securityHub } : {}),
      firstSeen: f.firstSeen,
      ...shared,
    });
    return {
      source: FINDINGS_EVENT_SOURCE,
      detailType: FINDING_EVENT_DETAIL_TYPE,
      detail: JSON.stringify(detail),
    };
  });
  const more = input.newFindings.count - shown.length;
  if (more > 0) {
    const detail = FindingsTruncatedDetailSchema.parse({
      schemaVersion: 1,
      newFindings: input.newFindings.count,
      sent: shown.length,
      more,
      ...shared,
    });
    entries.push({
      source: FINDINGS_EVENT_SOURCE,
      detailType: FINDINGS_TRUNCATED_DETAIL_TYPE,
      detail: JSON.stringify(detail),
    });
  }
  return entries;
}

/**
 * Groups entries into PutEvents requests: at most 10 entries, and entries totalling less than `maxRequestBytes`
 * (256 KB); an entry as large as the limit goes alone.
 */
export function batchEntries(entries: readonly BusEntry[], maxRequestBytes = 256 * 1024): BusEntry[][] {
  const batches: BusEntry[][] = [];
  let current: BusEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = busEntryBytes(entry);
    if (current.length > 0 && (current.length >= 10 || bytes + size >= maxRequestBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------------------------------------------------
// The outcome, in summary.json and the digest

/** What the digest's notifications did (summary.json `notifications`; absent when neither is configured). */
export interface NotificationOutcome {
  /** The chat summary: `off` (no topic), `published`, or `failed` with the error. */
  readonly chat: 'off' | 'published' | 'failed';
  readonly chatError?: string;
  /** Finding events: `off`, or the counts. */
  readonly events:
    | { readonly state: 'off' }
    | {
        readonly state: 'sent' | 'partial' | 'failed' | 'first-run';
        /** New critical and high findings of the run. */
        readonly newFindings: number;
        /** Entries put on the bus (finding events and the truncation event). */
        readonly put: number;
        /** Entries that could not be put after the retries (or were too large). */
        readonly failed: number;
        /** New findings over the cap, counted in the truncation event instead. */
        readonly truncated: number;
        readonly error?: string;
      };
}

/** Failures to count (chat 1 or 0, plus events not put). */
export function notificationFailures(outcome: NotificationOutcome): number {
  return (outcome.chat === 'failed' ? 1 : 0) + (outcome.events.state === 'off' ? 0 : outcome.events.failed);
}
