/**
 * Why ingest refuses an event or a report, and the record it keeps of the refusal in
 * accounts/<id>/rejected.json (docs/ARCHITECTURE.md §4, §11). Pure: the schema is shared by ingest,
 * which writes the record, and the digest, which reads it into the coverage.
 */
import * as z from 'zod';
import { AGENT_FAILURE_STAGES } from './event-contract';

/** Why ingest refused an event or a report (docs/ARCHITECTURE.md §2, §4). */
export const REJECTION_REASONS = [
  'invalid-envelope',
  'invalid-part',
  /** The part set is larger than a report may be: declared by a part, or listed before any part is read. */
  'too-large',
  'forged-account',
  'conflicting-part',
  'too-many-part-sets',
  'assembly-failed',
  'invalid-report',
  /** A `Credential Report Agent Failure` event whose detail or times do not pass (docs/ARCHITECTURE.md §4). */
  'invalid-agent-failure',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** accounts/<id>/rejected.json: the latest refusal for an account, for coverage and investigation. */
export const RejectionRecordSchema = z.object({
  schemaVersion: z.literal(1),
  /** The sending account (EventBridge's `event.account`, which the sender cannot choose). */
  accountId: z.string(),
  reason: z.enum(REJECTION_REASONS),
  /** Safe to show: names the field or the check that failed, never report contents. */
  detail: z.string(),
  /** ISO time of the refusal. */
  at: z.string(),
  eventId: z.string().optional(),
  reportId: z.string().optional(),
  generatedTime: z.string().optional(),
  /** The account id the detail claimed, when it differs from the sender (forged). */
  claimedAccountId: z.string().optional(),
  /** Where the report's parts stay until the incoming/ lifecycle expires them. */
  partsPrefix: z.string().optional(),
  /**
   * Where the assembled report that failed validation is kept aside whole (gzip JSON under the account's
   * history/, never latest.json). Its own object, so a later refusal cannot overwrite it and the digest
   * reads only this small record.
   */
  reportKey: z.string().optional(),
});
export type RejectionRecord = z.infer<typeof RejectionRecordSchema>;

/**
 * accounts/<id>/agent-failure.json: the agent's last reported failure, as ingest accepted it. The
 * digest reads it into the coverage (`collection-failed`) while it is newer than the account's report.
 */
export const AgentFailureRecordSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** The sending account (EventBridge's `event.account`). */
  accountId: z.string().regex(/^\d{12}$/),
  runId: z.string().max(128),
  failedTime: z.string().max(64),
  stage: z.enum(AGENT_FAILURE_STAGES),
  errorName: z.string().max(128),
  message: z.string().max(1_024),
  agentVersion: z.string().max(64),
  /** ISO time ingest recorded it. */
  receivedAt: z.string().max(64),
  eventId: z.string().max(128).optional(),
});
export type AgentFailureRecord = z.infer<typeof AgentFailureRecordSchema>;
