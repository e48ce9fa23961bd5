import * as z from 'zod';
import { DEFAULT_MAX_ENTRY_BYTES } from '../core/names';
import { DEACTIVATION_MODES, DEFAULT_PLAN_MAX_AGE_HOURS } from '../core/deactivation';
import { thresholdSchema } from '../core/thresholds';

/**
 * The member agent's environment. The CDK construct types its `environment` from `MemberAgentEnvironment`,
 * so a variable the handler needs cannot be missing from the stack.
 */
export const MemberAgentEnvSchema = z.object({
  /**
   * ARN of the hub's central bus: the agent puts its parts there directly, so the bus policy can admit
   * the agent's own role and nobody else (docs/ARCHITECTURE.md §11).
   */
  EVENT_BUS_NAME: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]+$/,
      'must be the ARN of the central event bus (arn:aws:events:<region>:<hub account>:event-bus/<name>)',
    ),
  /** Largest PutEvents entry the agent builds, in bytes. */
  MAX_ENTRY_BYTES: z.coerce.number().int().min(16_384).max(1_048_576).default(DEFAULT_MAX_ENTRY_BYTES),
  /** Time the collection may take before giving up, in seconds (keep below the function timeout). */
  COLLECT_BUDGET_SECONDS: z.coerce.number().int().positive().default(600),
  /**
   * Window over which scheduled runs of the organization's agents spread their start, in seconds: each
   * account waits its own fixed offset into it (core/start-window.ts); 0 starts at once. Manual runs and
   * the first-deployment run never wait. The stack checks that window + budget fit the timeout.
   */
  START_WINDOW_SECONDS: z.coerce.number().int().min(0).max(840).default(0),
  /**
   * Label of the deployed agent code, sent with a failure report (the construct sets the first 12 hex
   * digits of the bundle's SHA-256).
   */
  AGENT_VERSION: z
    .string()
    .regex(/^[\w.+-]{1,64}$/, 'must be a version label')
    .default('unversioned'),
  /**
   * Staged deactivation (core/deactivation.ts, docs/ARCHITECTURE.md §7): `off` (the default), `dry-run` (read
   * the plan, re-check, log what would be done) or `enforce` (also deactivate: the role then has
   * `iam:UpdateAccessKey`). Set at synth from the hub's `deactivation.mode`.
   */
  DEACTIVATION_MODE: z.enum(DEACTIVATION_MODES).default('off'),
  /** The hub's report bucket (its plan and audit log live there); required unless the mode is `off`. */
  REPORT_BUCKET: z
    .string()
    .regex(/^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$/, 'must be an S3 bucket name or empty')
    .default(''),
  /** A plan older than this many hours is not acted on (the hub re-plans daily). */
  PLAN_MAX_AGE_HOURS: z.coerce.number().int().min(1).max(168).default(DEFAULT_PLAN_MAX_AGE_HOURS),
  /**
   * `true`: after collecting, import this account's findings into its own Security Hub (docs/ARCHITECTURE.md
   * §6 "Security Hub"), computed by the core with the thresholds below (the digest's, from cdk.json).
   */
  SECURITY_HUB: z.enum(['true', 'false']).default('false'),
  ROTATION_DAYS: thresholdSchema('rotationDays', z.coerce.number()),
  UNUSED_DAYS: thresholdSchema('unusedDays', z.coerce.number()),
  GRACE_DAYS: thresholdSchema('graceDays', z.coerce.number()),
  ROOT_USE_DAYS: thresholdSchema('rootUseDays', z.coerce.number()),
});

export type MemberAgentEnv = z.infer<typeof MemberAgentEnvSchema>;
/** What the stack must set: every key, as strings. */
export type MemberAgentEnvironment = { readonly [K in keyof MemberAgentEnv]: string };
