import { z } from 'zod';
import { thresholdSchema } from '../core/thresholds';
import { CIS_VERSIONS, DEFAULT_CIS_VERSION, SEVERITIES } from '../core/finding-ids';
import { DEFAULT_MAX_FINDING_EVENTS, MAX_FINDING_EVENTS_LIMIT } from '../core/names';
import { DEFAULT_EXEMPTION_MAX_DAYS } from '../core/exemptions';
import { DEFAULT_OWNER_MIN_SEVERITY, DEFAULT_OWNER_TAG_KEYS, OWNER_DIGEST_MODES } from '../core/owners';
import { DeactivationPolicySchema } from '../core/deactivation';

const csvList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0),
  );

/** Environment of the ingest Lambda. */
export const IngestEnvSchema = z.object({
  /** The hub's report bucket. */
  REPORT_BUCKET: z.string().min(3),
  /** Most incomplete part sets one account may have under incoming/ (docs/ARCHITECTURE.md §11). */
  MAX_OPEN_PART_SETS: z.coerce.number().int().min(2).max(1_000).default(8),
});
export type IngestEnv = z.infer<typeof IngestEnvSchema>;
export type IngestEnvironment = { readonly [K in keyof IngestEnv]: string };

/** Environment of the digest Lambda. */
export const DigestEnvSchema = z.object({
  REPORT_BUCKET: z.string().min(3),
  /** `o-…`; shown in the digest and used to sanity-check Organizations answers. */
  ORGANIZATION_ID: z.string().regex(/^o-[a-z0-9]{10,32}$/),
  /** Comma-separated OU/root ids whose ACTIVE accounts are expected to report. */
  TARGET_OU_IDS: csvList,
  /** Comma-separated addresses; empty: no email is sent (S3 outputs are still written). */
  DIGEST_RECIPIENTS: csvList,
  /** Verified SES identity the digest is sent from; empty when no recipients. */
  DIGEST_SENDER: z.string().default(''),
  /** Comma-separated tag keys to emit as columns; empty: every tag key in the org. */
  TAG_KEYS: csvList,
  /** Tag whose values the summary breaks findings down by. */
  BREAKDOWN_TAG: z.string().default('Environment'),
  /** CIS AWS Foundations numbering shown in summary.json and the digest. */
  CIS_VERSION: z.enum(CIS_VERSIONS).default(DEFAULT_CIS_VERSION),
  // Bounds and defaults of the thresholds come from core/thresholds.ts (docs/ARCHITECTURE.md §8).
  ROTATION_DAYS: thresholdSchema('rotationDays', z.coerce.number()),
  UNUSED_DAYS: thresholdSchema('unusedDays', z.coerce.number()),
  GRACE_DAYS: thresholdSchema('graceDays', z.coerce.number()),
  ROOT_USE_DAYS: thresholdSchema('rootUseDays', z.coerce.number()),
  STALE_HOURS: thresholdSchema('staleHours', z.coerce.number()),
  /** Largest email the digest sends before linking the CSV instead of attaching it, in bytes. */
  MAX_EMAIL_BYTES: z.coerce.number().int().positive().default(10_000_000),
  /** An exemption may expire at most this many days ahead (cdk.json `exemptionMaxDays`). */
  EXEMPTION_MAX_DAYS: z.coerce.number().int().min(1).max(3_650).default(DEFAULT_EXEMPTION_MAX_DAYS),
  /** Tags older than this many hours are refreshed (within the run's budget). */
  TAG_CACHE_HOURS: z.coerce.number().positive().default(24),
  /**
   * The management account in delegated-admin mode, expected like any member (its agent is the
   * CredreportHubManagementAgent stack); empty: not expected beyond the targeted OUs.
   */
  MANAGEMENT_ACCOUNT_ID: z
    .string()
    .regex(/^(\d{12})?$/, 'must be a 12-digit account id or empty')
    .default(''),
  /** SNS topic the chat summary is published to (config `chatTopicArn` / `chatTopic`); empty: no chat summary. */
  CHAT_TOPIC_ARN: z
    .string()
    .regex(/^(arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256})?$/, 'must be an SNS topic ARN or empty')
    .default(''),
  /** ARN of the bus that receives one event per new critical/high finding (`findingEvents`); empty: off. */
  FINDING_EVENTS_BUS_ARN: z
    .string()
    .regex(
      /^(arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._/-]{1,256})?$/,
      'must be an event bus ARN or empty',
    )
    .default(''),
  /** At most this many finding events per run, then one "… and N more" event (`maxFindingEvents`). */
  MAX_FINDING_EVENTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_FINDING_EVENTS_LIMIT)
    .default(DEFAULT_MAX_FINDING_EVENTS),
  /** `true`: copy the CSVs to the Athena tables' folders too (tables/, core/athena-tables.ts). */
  ATHENA_TABLES: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Per-owner digests (core/owners.ts): off, dry-run (latest/owners/) or send. */
  OWNER_DIGESTS: z.enum(OWNER_DIGEST_MODES).default('off'),
  /** Comma-separated account tag keys naming the owner, tried in order. */
  OWNER_TAG_KEYS: z
    .string()
    .default(DEFAULT_OWNER_TAG_KEYS.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0),
    ),
  /** Owner of accounts no tag or alternate contact names; empty: none. */
  DEFAULT_OWNER: z.string().max(254).default(''),
  /** Comma-separated domains an owner address may have (required when OWNER_DIGESTS is not off). */
  OWNER_ALLOWED_DOMAINS: csvList,
  /** Least severity of an open finding that makes an owner's digest due. */
  OWNER_MIN_SEVERITY: z.enum(SEVERITIES).default(DEFAULT_OWNER_MIN_SEVERITY),
  /**
   * The staged deactivation policy as JSON (core/deactivation.ts `DeactivationPolicySchema`, written by the
   * stack from the validated `deactivation` config); empty: off.
   */
  DEACTIVATION_POLICY: z
    .string()
    .default('')
    .transform((text, ctx) => {
      if (text.trim() === '') return undefined;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
      const parsed = DeactivationPolicySchema.safeParse(json);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid policy' });
        return z.NEVER;
      }
      return parsed.data.mode === 'off' ? undefined : parsed.data;
    }),
});
export type DigestEnv = z.infer<typeof DigestEnvSchema>;
export type DigestEnvironment = { readonly [K in keyof z.input<typeof DigestEnvSchema>]-?: string };
