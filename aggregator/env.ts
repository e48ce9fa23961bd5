import { z } from 'zod';
import { thresholdSchema } from '../core/thresholds';
import { CIS_VERSIONS, DEFAULT_CIS_VERSION } from '../core/finding-ids';
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
