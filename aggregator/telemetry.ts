/**
 * CloudWatch metric names the aggregator emits (Powertools EMF), shared with the stacks' alarms so the
 * two can never disagree. The namespace can be overridden with POWERTOOLS_METRICS_NAMESPACE.
 */
export const METRICS_NAMESPACE = 'Credreport';

export const INGEST_METRICS = {
  partsReceived: 'PartsReceived',
  duplicateParts: 'DuplicateParts',
  partsSuperseded: 'PartsSuperseded',
  /** An event refused before assembly (invalid envelope, schema, forged account, too large, …). Alarm on it. */
  rejectedParts: 'RejectedParts',
  /** `event.account` ≠ `detail.accountId`: a member tried to write another account's report. Alarm on it. */
  forgedParts: 'ForgedParts',
  /** A complete part set that did not assemble or whose report failed validation. */
  rejectedReports: 'RejectedReports',
  reportsStored: 'ReportsStored',
  /** An agent reported a failed run (accounts/<id>/agent-failure.json). Alarm on it. */
  agentFailures: 'AgentFailures',
  /** Transient failure; the event is retried (and lands in the DLQ if it keeps failing). */
  ingestErrors: 'IngestErrors',
} as const;

export const DIGEST_METRICS = {
  accountsExpected: 'AccountsExpected',
  accountsReporting: 'AccountsReporting',
  accountsMissing: 'AccountsMissing',
  /** Per finding id, with dimension `FindingId`: users with the finding. */
  findings: 'Findings',
  /** The digest email could not be sent (S3 outputs are written). Alarm on it. */
  emailFailed: 'EmailFailed',
  /** The hub's own account could not be collected in-process. */
  ownCollectionFailed: 'OwnCollectionFailed',
  /** Stored account reports that could not be read or validated this run. */
  unreadableReports: 'UnreadableReports',
  durationMs: 'DurationMs',
  /**
   * 1 when a run wrote its outputs to S3 (whatever became of the email, which EmailFailed reports); never
   * emitted otherwise. The heartbeat alarm fires when it is absent for `staleHours`.
   */
  digestSucceeded: 'DigestSucceeded',
  organizationsCalls: 'OrganizationsCalls',
  /** Chat summaries not published plus finding events not put this run (summary.json `notifications`). */
  notificationsFailed: 'NotificationsFailed',
  /** Owner digests sent (send) or written to latest/owners/ (dry-run). */
  ownerDigestsDelivered: 'OwnerDigestsDelivered',
  /** Owner digests that failed after their retries (the others still went out). */
  ownerDigestsFailed: 'OwnerDigestsFailed',
  /** GetAlternateContact requests of the run. */
  alternateContactCalls: 'AlternateContactCalls',
} as const;
