/**
 * Names that cross account boundaries. Stacks and Lambdas import them from here so that the member
 * agent, the central bus policy, the hub's bus rule and the ingest handler can never disagree.
 */
export const EVENT_SOURCE = 'credreport.member-agent';
export const EVENT_DETAIL_TYPE = 'Credential Report Part';
/**
 * Detail-type of the small event an agent puts on the central bus when a run fails in a way it can
 * catch (collection, publish, timeout approaching): the hub records it and the account's coverage says
 * `collection-failed` until a newer report arrives (docs/ARCHITECTURE.md §4, §12).
 */
export const AGENT_FAILURE_DETAIL_TYPE = 'Credential Report Agent Failure';
/** Schema version of an agent failure event's detail (its own, not the report's). */
export const AGENT_FAILURE_SCHEMA_VERSION = 1;
/**
 * Version the agent publishes: 2 adds per-user `grants` and `quarantinePolicies`, 3 the account's
 * `accountFacts` (root credentials, password policy, root MFA device, users with direct policies;
 * docs/ARCHITECTURE.md §4). The hub accepts every version in ACCEPTED_SCHEMA_VERSIONS during a rollout.
 */
export const EVENT_SCHEMA_VERSION = 3;
export const ACCEPTED_SCHEMA_VERSIONS = [1, 2, 3] as const;
export const PAYLOAD_ENCODING = 'gzip+base64';

/**
 * Source of the events the hub's digest puts on the central bus, one per new critical or high finding
 * (docs/ARCHITECTURE.md §6 "Chat and routing"). Only the digest role may put it: the bus policy admits member
 * agents for EVENT_SOURCE alone, and the digest role's grant is conditioned on this source.
 */
export const FINDINGS_EVENT_SOURCE = 'credreport.findings';
/** Detail-type of one new critical or high finding. */
export const FINDING_EVENT_DETAIL_TYPE = 'Credential Report Finding';
/** Detail-type of the one event that says how many new findings were over the run's cap and not sent. */
export const FINDINGS_TRUNCATED_DETAIL_TYPE = 'Credential Report Findings Truncated';
/** Default cap on finding events per digest run (`maxFindingEvents`). */
export const DEFAULT_MAX_FINDING_EVENTS = 500;
/** Largest `maxFindingEvents` accepted at synth. */
export const MAX_FINDING_EVENTS_LIMIT = 10_000;

/** Default for the hub's central bus name. */
export const CENTRAL_BUS_NAME = 'credreport-central';
/** Name of the StackSet that deploys the member agent. */
export const MEMBER_STACKSET_NAME = 'credreport-member-agent';
/** Function name of the member agent in every member account. */
export const MEMBER_AGENT_FUNCTION_NAME = 'credreport-member-agent';
/**
 * Execution role name of the member agent in every member account. Fixed, because the central bus
 * policy admits `events:PutEvents` only from a role of this name in an account of the organization
 * (docs/ARCHITECTURE.md §11); IAM role names are unique per account, so nobody else can hold it.
 */
export const MEMBER_AGENT_ROLE_NAME = 'credreport-member-agent';
/** Role the CLI assumes by default in every account (the one AWS Organizations creates). */
export const DEFAULT_COLLECT_ROLE_NAME = 'OrganizationAccountAccessRole';
/** Read-only role name recommended in the README for `credreport collect`. */
export const RECOMMENDED_READONLY_ROLE_NAME = 'CredreportReadOnly';

/**
 * Default maximum size of one PutEvents entry built by the agent, in bytes. EventBridge allows 256 KB
 * (262,144 bytes) per entry in partitions that have not moved to 1 MB; we keep headroom for the envelope
 * fields EventBridge counts (source, detail-type, resources) and the JSON escaping of the detail.
 */
export const DEFAULT_MAX_ENTRY_BYTES = 250_000;

/**
 * Default reserved concurrency of the hub's ingest Lambda: a burst of parts (or a flood from one account)
 * cannot take the hub account's whole Lambda concurrency; throttled events wait in Lambda's async queue.
 * What it sustains for 10,000 accounts is measured by the arrival bench (docs/ARCHITECTURE.md §10).
 */
export const DEFAULT_INGEST_RESERVED_CONCURRENCY = 10;

/** S3 keys and prefixes of the hub bucket (docs/ARCHITECTURE.md §5). */
export const S3_LAYOUT = {
  incomingPrefix: 'incoming/',
  /** One part of one collection (sha256 of its payload) of a report: collections sharing a reportId never mix. */
  incomingPart: (accountId: string, reportId: string, sha256: string, part: number, parts: number) =>
    `incoming/${accountId}/${reportId}/${sha256}/part-${part}-of-${parts}`,
  accountsPrefix: 'accounts/',
  accountLatest: (accountId: string) => `accounts/${accountId}/latest.json`,
  accountHistory: (accountId: string, generatedTime: string) =>
    `accounts/${accountId}/history/${generatedTime}.json.gz`,
  /** The latest refusal of the account's parts or reports, with its reason (never overwrites latest.json). */
  accountRejected: (accountId: string) => `accounts/${accountId}/rejected.json`,
  /** The agent's last reported failure (never overwrites latest.json; a newer report supersedes it). */
  accountAgentFailure: (accountId: string) => `accounts/${accountId}/agent-failure.json`,
  /** A whole report that failed validation, kept aside for inspection (rolled up with history/). */
  accountRejectedReport: (accountId: string, reportId: string, sha256: string) =>
    `accounts/${accountId}/history/rejected/${reportId}-${sha256.slice(0, 16)}.json.gz`,
  orgMetadata: 'org/metadata.json',
  /** The operators' exemptions file (core/exemptions.ts); the digest reads it, never writes it. */
  exemptions: 'config/exemptions.json',
  /** The last copy of config/exemptions.json that validated: used while the current one is malformed. */
  exemptionsLastValid: 'config/exemptions.last-valid.json',
  /** Staged deactivation (core/deactivation.ts): the hub's plan per account, and the agent's audit records. */
  remediationPrefix: 'remediation/',
  remediationPlan: (accountId: string) => `remediation/${accountId}/plan.json`,
  remediationLogPrefix: (accountId: string) => `remediation/${accountId}/log/`,
  /** One agent run's audit log; `at` is its UTC time, `2026-12-04T061502Z`, so runs never replace each other. */
  remediationLog: (accountId: string, at: string) => `remediation/${accountId}/log/${at}.json`,
  latestPrefix: 'latest/',
  runsPrefix: 'runs/',
  runPrefix: (date: string) => `runs/date=${date}/`,
  /**
   * One folder per Athena table (only with the `athena` config key): Athena reads every object under a
   * table's location, so each CSV gets a copy of its own beside runs/ (core/athena-tables.ts).
   */
  tablesPrefix: 'tables/',
  tablePartition: (table: string, date: string) => `tables/${table}/date=${date}/`,
  outputFiles: {
    credentialReport: 'credential-report.csv',
    accessKeys: 'access-keys.csv',
    findings: 'findings.csv',
    /** OCSF 1.3.0 Compliance Findings, one per line (core/ocsf.ts). */
    ocsf: 'findings.ocsf.json',
    state: 'state.json.gz',
    summary: 'summary.json',
    digest: 'digest.html',
  },
} as const;

/** Default name of the hub stack: the `stackName` default of stacks/config.ts and the CLI's `--stack`. */
export const DEFAULT_HUB_STACK_NAME = 'CredreportHub';

/**
 * Name of the optional stack that puts the member agent in the management account (delegated-admin
 * mode): the hub stack's name + this suffix, `CredreportHubManagementAgent` by default.
 */
export const MANAGEMENT_AGENT_STACK_SUFFIX = 'ManagementAgent';

/**
 * OutputKeys of the hub stack: the stack declares them and the CLI reads them (`credreport fetch` finds
 * the bucket, `credreport run` the digest function).
 */
export const HUB_OUTPUTS = {
  reportBucketName: 'ReportBucketName',
  centralBusArn: 'CentralBusArn',
  digestFunctionName: 'DigestFunctionName',
  /** Only when `reportBucketKms` is on: the key readers of the bucket need `kms:Decrypt` on. */
  reportBucketKeyArn: 'ReportBucketKeyArn',
  /** Only with `chatTopic: true`: the topic to subscribe in Amazon Q Developer in chat applications. */
  chatTopicArn: 'ChatTopicArn',
  /** Only with `athena` on: the workgroup of the saved queries, its Glue database and its results bucket. */
  athenaWorkGroup: 'AthenaWorkGroup',
  athenaDatabase: 'AthenaDatabase',
  athenaResultsBucketName: 'AthenaResultsBucketName',
} as const;

/**
 * Powertools service names of the hub Lambdas: the handlers' Logger and Metrics use them, and the stacks
 * set POWERTOOLS_SERVICE_NAME and the alarms' `service` metric dimension from them.
 */
export const HUB_SERVICE_NAMES = {
  ingest: 'credreport-ingest',
  digest: 'credreport-digest',
} as const;

/** The partition of a region, by its prefix (cn-…: aws-cn, us-gov-…: aws-us-gov, ISO regions, else aws). */
export function partitionOfRegion(region: string): string {
  const prefixes: readonly (readonly [string, string])[] = [
    ['cn-', 'aws-cn'],
    ['us-gov-', 'aws-us-gov'],
    ['us-isob-', 'aws-iso-b'],
    ['us-isof-', 'aws-iso-f'],
    ['us-iso-', 'aws-iso'],
    ['eu-isoe-', 'aws-iso-e'],
  ];
  return prefixes.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws';
}
