import { DEFAULT_EXEMPTION_MAX_DAYS } from '../core/exemptions';
import { z } from 'zod';
import { CredreportError } from '../core/errors';
import {
  DEFAULT_HUB_STACK_NAME,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_FINDING_EVENTS,
  MAX_FINDING_EVENTS_LIMIT,
  partitionOfRegion,
} from '../core/names';
import { DEFAULT_AGENT_START_WINDOW_MINUTES } from '../core/start-window';
import { ThresholdsSchema, type Thresholds } from '../core/thresholds';
import {
  CIS_VERSIONS,
  DEFAULT_CIS_VERSION,
  SEVERITIES,
  type CisVersion,
  type Severity,
} from '../core/finding-ids';
import {
  checkOwnerAddress,
  DEFAULT_OWNER_MIN_SEVERITY,
  DEFAULT_OWNER_TAG_KEYS,
  isValidDomain,
  OWNER_DIGEST_MODES,
  type OwnerDigestMode,
} from '../core/owners';
import { AthenaColumnError, athenaTableColumns } from '../core/athena-tables';
import {
  DEACTIVATION_MODES,
  DEFAULT_PLAN_MAX_AGE_HOURS,
  DEFAULT_STAGE_THRESHOLDS,
  MAX_STAGE_DAYS,
  stageThresholdsProblem,
  type DeactivationPolicy,
  type StageThresholds,
} from '../core/deactivation';

/** Thrown when the `cdk.json` context (or `-c key=value`) does not describe a deployable configuration. */
export class ConfigError extends CredreportError {
  /** One line per problem, each starting with the context key it is about. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(`Invalid credreport configuration in cdk.json context:\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
  }
}

/** The validated configuration of the CDK app (docs/ARCHITECTURE.md §8). */
export interface CredreportConfig {
  /** AWS Organizations id, `o-…`. */
  readonly organizationId: string;
  /** OU or root ids (`ou-…`, `r-…`) the member StackSet targets; also whose accounts are expected to report. */
  readonly targetOrganizationalUnitIds: readonly string[];
  /** The one region the hub and every member stack are deployed to (IAM is global). */
  readonly deploymentRegion: string;
  /** Hub account id, only to pin the stack environment; `undefined` keeps synth account-agnostic. */
  readonly account?: string;
  /** CloudFormation stack name of the hub. */
  readonly stackName: string;
  /** `true` when deploying from a CloudFormation StackSets delegated administrator, `false` from the management account. */
  readonly delegatedAdmin: boolean;
  /**
   * The organization's management account, in delegated-admin mode only: adds the
   * `<stackName>ManagementAgent` stack (the member agent for that account, which StackSets never deploy
   * to) and makes the digest expect the account. Requires `account` (the hub's, for the central bus ARN).
   */
  readonly managementAccountId?: string;
  /** EventBridge rule expression of the member agent (`rate(…)` or six-field `cron(…)`, UTC). */
  readonly agentSchedule: string;
  /** EventBridge Scheduler expression of the digest, evaluated in `digestTimeZone`. */
  readonly digestSchedule: string;
  /** IANA time zone of `digestSchedule`. */
  readonly digestTimeZone: string;
  /** Digest recipients; empty: no email (S3 outputs are still written). */
  readonly digestRecipients: readonly string[];
  /** Verified SES identity (address) the digest is sent from; set exactly when there are recipients. */
  readonly digestSender?: string;
  /**
   * SES configuration set applied to the digest's sends (the sender identity's default configuration set,
   * if it has one): SES then also authorizes `ses:SendEmail` against it. `undefined`: none.
   */
  readonly digestConfigurationSet?: string;
  /** Account tag keys emitted as columns; empty: every tag key of the organization. */
  readonly tagKeys: readonly string[];
  /** Tag whose values the summary breaks findings down by. */
  readonly breakdownTag: string;
  /** CIS AWS Foundations numbering shown in summary.json and the digest (docs/ARCHITECTURE.md §7). */
  readonly cisVersion: CisVersion;
  /** Finding thresholds (docs/ARCHITECTURE.md §7). */
  readonly thresholds: Thresholds;
  /** Days dated run outputs (`runs/`) and account report history (`accounts/`) are kept. */
  readonly retentionDays: number;
  /** Days noncurrent object versions are kept in the report bucket. */
  readonly noncurrentVersionDays: number;
  /** Retention of the Lambda log groups, in days (a CloudWatch Logs retention value). */
  readonly logRetentionDays: number;
  /**
   * Where the alarms notify: an address subscribed to a topic the stack creates, an existing SNS topic
   * in `deploymentRegion`, or an explicit opt-out (a topic with no subscription, warned about at synth).
   */
  readonly alarmDelivery: AlarmDeliveryConfig;
  /** Encrypt the report bucket with a customer managed KMS key (SSE-KMS, bucket keys) instead of SSE-S3. */
  readonly reportBucketKms: boolean;
  /** Keep the member stack in an account that leaves the targeted OUs. */
  readonly retainStacksOnAccountRemoval: boolean;
  /** StackSet operations: percentage of accounts deployed at once. */
  readonly maxConcurrentPercentage: number;
  /** StackSet operations: percentage of accounts that may fail before the operation stops. */
  readonly failureTolerancePercentage: number;
  /** Largest digest email before the CSV is linked instead of attached, in bytes. */
  readonly maxEmailBytes: number;
  /** Account tags older than this many hours are refreshed by the digest. */
  readonly tagCacheHours: number;
  /** An entry of config/exemptions.json may expire at most this many days ahead (default 365). */
  readonly exemptionMaxDays: number;
  /** Largest PutEvents entry the member agent builds, in bytes. */
  readonly maxEntryBytes: number;
  /** Time the member agent may spend collecting, in seconds (below its 15-minute timeout). */
  readonly collectBudgetSeconds: number;
  /**
   * Minutes over which the agents' scheduled runs spread their start (a fixed offset per account);
   * window + `collectBudgetSeconds` + MEMBER_AGENT_PUBLISH_SECONDS fit the agent's timeout.
   */
  readonly agentStartWindowMinutes: number;
  /**
   * The digest's chat summary (docs/ARCHITECTURE.md §6 "Chat and routing"): off, an existing SNS topic
   * (`chatTopicArn`), or a topic the stack creates (`chatTopic: true`, KMS-encrypted, TLS-only).
   */
  readonly chat: ChatConfig;
  /** Put one event per new critical/high finding on the central bus (`credreport.findings`). */
  readonly findingEvents: boolean;
  /** Finding events per digest run before one "… and N more" event. */
  readonly maxFindingEvents: number;
  /**
   * Glue tables over the dated CSVs and saved Athena queries (`athena` true); `undefined`: off
   * (docs/ARCHITECTURE.md §6 "Athena").
   */
  readonly athena?: AthenaConfig;
  /** Per-owner digests (docs/ARCHITECTURE.md §6 "Owner digests"): off, dry-run (latest/owners/) or send. */
  readonly ownerDigests: OwnerDigestMode;
  /** Account tag keys naming an account's owner, tried in order. */
  readonly ownerTagKeys: readonly string[];
  /** Owner of accounts no tag or alternate SECURITY contact names. */
  readonly defaultOwner?: string;
  /** Domains an owner address may have (required when ownerDigests is not off). */
  readonly ownerAllowedDomains: readonly string[];
  /** Least severity of an open finding that makes an owner's digest due. */
  readonly ownerMinSeverity: Severity;
  /**
   * Staged deactivation of unused access keys (docs/ARCHITECTURE.md §7): `mode` `off` (the default: no plan,
   * no permission), `dry-run` (planned and shown, never done) or `enforce` (the member agents deactivate).
   */
  readonly deactivation: DeactivationPolicy;
  /**
   * Each member agent (and the management agent) imports its own account's findings into that account's
   * Security Hub, under its default product ARN (docs/ARCHITECTURE.md §6 "Security Hub"). Off by default.
   */
  readonly securityHub: boolean;
}

/** The `athena*` keys: where the tables live and which account tags the saved queries read. */
export interface AthenaConfig {
  /** Glue database of the tables and the saved queries. */
  readonly database: string;
  /** Account tag (one of `tagKeys`) whose value marks production accounts. */
  readonly environmentTag: string;
  /** Its value on production accounts. */
  readonly productionValue: string;
  /** Account tag (one of `tagKeys`) naming the account's owner. */
  readonly ownerTag: string;
}

/** Where the chat summary goes (the `chatTopicArn` and `chatTopic` keys, at most one set). */
export type ChatConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'topic'; readonly topicArn: string }
  | { readonly kind: 'create' };

/** How the alarms are delivered (the `alarmEmail`, `alarmTopicArn` and `alarmDelivery` keys, exactly one set). */
export type AlarmDeliveryConfig =
  | { readonly kind: 'email'; readonly email: string }
  | { readonly kind: 'topic'; readonly topicArn: string }
  | { readonly kind: 'none' };

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_VALUES = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The member agent's function timeout, in seconds; its collect budget must stay below it. */
export const MEMBER_AGENT_TIMEOUT_SECONDS = 900;
/** Seconds of the agent's timeout kept for splitting and publishing after the collect budget. */
export const MEMBER_AGENT_PUBLISH_SECONDS = 60;

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT_ID = /^\d{12}$/;
const EMAIL = /^[^@\s,<>"]+@[^@\s,<>"]+\.[^@\s,<>".]+$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;
const GLUE_DATABASE = /^[a-z0-9_]{1,255}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const CONFIGURATION_SET = /^[A-Za-z0-9_-]{1,64}$/;
const SNS_TOPIC_ARN = /^arn:(aws[a-z-]*):sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^()]+)\)$/;

/**
 * Why `expression` is not a valid EventBridge (rule or Scheduler) `rate(…)`/`cron(…)` expression, or
 * `undefined` when it is. Checks the shape AWS checks at deploy time, so a typo fails `cdk synth`.
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1) return 'a rate must be at least 1';
    const singular = !unit.endsWith('s');
    if (value === 1 && !singular) return `use the singular unit for 1, e.g. rate(1 ${unit.slice(0, -1)})`;
    if (value > 1 && singular) return `use the plural unit above 1, e.g. rate(${value} ${unit}s)`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6) {
      return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has ${fields.length}`;
    }
    const [, , dayOfMonth, , dayOfWeek] = fields;
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      return 'exactly one of day-of-month and day-of-week must be ?';
    }
    return undefined;
  }
  return 'expected rate(<n> <minute(s)|hour(s)|day(s)>) or cron(<6 fields>)';
}

/** `true` when `timeZone` is an IANA time zone name this Node.js knows (e.g. `Europe/Paris`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** The partition of a region (core/names.ts, shared with the member agent). */
export const partitionOf = partitionOfRegion;

/**
 * Why `arn` cannot be the alarm topic of a hub in `region`, or `undefined` when it can: an SNS topic ARN
 * (a standard topic: publishing to a FIFO topic requires a message group id, which alarm notifications do not carry) in the region's partition and in
 * `region` itself, because a CloudWatch alarm can only notify a topic of its own region.
 */
export function alarmTopicArnProblem(arn: string, region: string): string | undefined {
  const match = SNS_TOPIC_ARN.exec(arn);
  if (!match) {
    return arn.endsWith('.fifo')
      ? 'a FIFO topic requires a message group id on every publish, which CloudWatch alarm notifications do not carry: use a standard topic'
      : 'expected an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:security-alarms';
  }
  const [, partition, topicRegion] = match;
  if (topicRegion !== region) {
    return `the topic is in ${topicRegion ?? '?'}, but CloudWatch alarms can only notify a topic in their own region (deploymentRegion ${region})`;
  }
  if (partition !== partitionOf(region)) {
    return `partition ${partition ?? '?'} does not match deploymentRegion ${region} (partition ${partitionOf(region)})`;
  }
  return undefined;
}

/**
 * Why `arn` cannot be the chat topic of a hub in `region`, or `undefined` when it can: a standard SNS topic (a
 * FIFO topic needs a message group id, and Amazon Q Developer in chat applications subscribes standard topics)
 * in `region` (the digest publishes with its own region's client) and the region's partition. The topic may be
 * in another account; its topic policy (and key policy, when encrypted) must then admit the digest role.
 */
export function chatTopicArnProblem(arn: string, region: string): string | undefined {
  const match = SNS_TOPIC_ARN.exec(arn);
  if (!match) {
    return arn.endsWith('.fifo')
      ? 'a FIFO topic requires a message group id on every publish: use a standard topic (the one your Amazon Q Developer in chat applications channel subscribes)'
      : 'expected an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:security-chat';
  }
  const [, partition, topicRegion] = match;
  if (topicRegion !== region) {
    return `the topic is in ${topicRegion ?? '?'}, but the digest publishes to topics of deploymentRegion ${region}`;
  }
  if (partition !== partitionOf(region)) {
    return `partition ${partition ?? '?'} does not match deploymentRegion ${region} (partition ${partitionOf(region)})`;
  }
  return undefined;
}

/** What the alarm-delivery problem says to set. */
const ALARM_DELIVERY_CHOICES =
  'set exactly one of alarmEmail (an address to subscribe), alarmTopicArn (an existing SNS topic in deploymentRegion) or alarmDelivery "none" (explicit opt-out: the alarms notify a topic nobody is subscribed to)';

const TARGET_ID_EXPECTED = 'expected OU ids like ou-ab12-cd34ef56 or the root id like r-ab12';

const show = (value: unknown): string =>
  value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));

/** `-c key=value` gives strings; cdk.json gives JSON. Accept both for booleans, numbers and lists. */
const fromString = {
  boolean: (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v),
  number: (v: unknown) =>
    typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v,
  list: (v: unknown) => {
    if (typeof v !== 'string') return v;
    const text = v.trim();
    if (text.startsWith('[')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return v;
      }
    }
    return text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  },
};

const bool = (name: string) =>
  z.preprocess(
    fromString.boolean,
    z.boolean({ error: (i) => `${name}: expected true or false, got ${show(i.input)}` }),
  );

const int = (name: string, min: number, max: number, what: string) =>
  z.preprocess(
    fromString.number,
    z
      .number({ error: (i) => `${name}: expected ${what}, got ${show(i.input)}` })
      .int({ error: (i) => `${name}: expected ${what}, got ${show(i.input)}` })
      .min(min, { error: (i) => `${name}: expected ${what}, got ${show(i.input)}` })
      .max(max, { error: (i) => `${name}: expected ${what}, got ${show(i.input)}` }),
  );

const str = (name: string, pattern: RegExp, what: string) =>
  z
    .string({ error: (i) => `${name}: expected ${what}, got ${show(i.input)}` })
    .regex(pattern, { error: (i) => `${name}: expected ${what}, got ${show(i.input)}` });

const list = <T extends z.ZodType>(name: string, item: T) =>
  z.preprocess(
    fromString.list,
    z.array(item, {
      error: (i) => `${name}: expected a list (JSON array or comma-separated), got ${show(i.input)}`,
    }),
  );

const schedule = (name: string) =>
  z
    .string({ error: (i) => `${name}: expected a schedule expression, got ${show(i.input)}` })
    .superRefine((v, ctx) => {
      const problem = scheduleExpressionProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${name}: ${problem}, got ${show(v)}` });
    });

const ladderKeys = (prefix: string) => ({
  unusedDays: int(`${prefix}.unusedDays`, 1, MAX_STAGE_DAYS, 'a positive whole number of days').optional(),
  noticeDays: int(`${prefix}.noticeDays`, 1, MAX_STAGE_DAYS, 'a positive whole number of days').optional(),
  deactivateAfterDays: int(
    `${prefix}.deactivateAfterDays`,
    2,
    MAX_STAGE_DAYS,
    `a whole number of days from 2 to ${MAX_STAGE_DAYS}`,
  ).optional(),
});

/** `deactivation` (an object; a JSON string with `-c`): every key optional, unknown keys refused. */
const DeactivationSchema = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
  z.strictObject(
    {
      mode: z
        .enum(DEACTIVATION_MODES, {
          error: (i) =>
            `deactivation.mode: expected one of ${DEACTIVATION_MODES.join(', ')}, got ${show(i.input)}`,
        })
        .optional(),
      ...ladderKeys('deactivation'),
      human: z
        .strictObject(ladderKeys('deactivation.human'), {
          error: (i) =>
            `deactivation.human: expected an object of unusedDays, noticeDays, deactivateAfterDays, got ${show(i.input)}`,
        })
        .optional(),
      machine: z
        .strictObject(ladderKeys('deactivation.machine'), {
          error: (i) =>
            `deactivation.machine: expected an object of unusedDays, noticeDays, deactivateAfterDays, got ${show(i.input)}`,
        })
        .optional(),
      optOutTag: str('deactivation.optOutTag', TAG_KEY, 'a user tag key like credreport:keep').optional(),
      planMaxAgeHours: int('deactivation.planMaxAgeHours', 1, 168, 'whole hours from 1 to 168').optional(),
    },
    {
      error: (i) =>
        i.code === 'unrecognized_keys'
          ? `deactivation: unknown key(s) ${i.keys.join(', ')} (known: mode, unusedDays, noticeDays, deactivateAfterDays, human, machine, optOutTag, planMaxAgeHours)`
          : `deactivation: expected an object like {"mode": "dry-run"}, got ${show(i.input)}`,
    },
  ),
);

/** The context keys (cdk.json `context` or `-c key=value`) and their schema. */
const ContextSchema = z
  .object({
    organizationId: str('organizationId', ORGANIZATION_ID, 'an AWS Organizations id like o-a1b2c3d4e5'),
    organizationRootId: str('organizationRootId', ROOT_ID, 'the organization root id like r-ab12').optional(),
    targetOrganizationalUnitIds: list(
      'targetOrganizationalUnitIds',
      z
        .string({ error: (i) => `targetOrganizationalUnitIds: ${TARGET_ID_EXPECTED}, got ${show(i.input)}` })
        .refine((v) => OU_ID.test(v) || ROOT_ID.test(v), {
          error: (i) => `targetOrganizationalUnitIds: ${TARGET_ID_EXPECTED}, got ${show(i.input)}`,
        }),
    ).optional(),
    deploymentRegion: str('deploymentRegion', REGION, 'an AWS region like us-east-1'),
    account: str('account', ACCOUNT_ID, 'a 12-digit AWS account id').optional(),
    stackName: str('stackName', STACK_NAME, 'a CloudFormation stack name').default(DEFAULT_HUB_STACK_NAME),
    delegatedAdmin: bool('delegatedAdmin').default(false),
    managementAccountId: str('managementAccountId', ACCOUNT_ID, 'a 12-digit AWS account id').optional(),
    agentSchedule: schedule('agentSchedule').default('rate(1 day)'),
    digestSchedule: schedule('digestSchedule').default('cron(0 7 * * ? *)'),
    digestTimeZone: z
      .string({
        error: (i) => `digestTimeZone: expected an IANA time zone like Europe/Paris, got ${show(i.input)}`,
      })
      .refine(isValidTimeZone, {
        error: (i) => `digestTimeZone: expected an IANA time zone like Europe/Paris, got ${show(i.input)}`,
      })
      .default('UTC'),
    digestRecipients: list('digestRecipients', str('digestRecipients', EMAIL, 'email addresses'))
      .refine((v) => v.length <= 50, {
        error: 'digestRecipients: expected at most 50 addresses (the SES limit)',
      })
      .default([]),
    digestSender: str(
      'digestSender',
      EMAIL,
      'the verified SES email address the digest is sent from',
    ).optional(),
    digestConfigurationSet: str(
      'digestConfigurationSet',
      CONFIGURATION_SET,
      'an SES configuration set name (1-64 letters, digits, - or _)',
    ).optional(),
    tagKeys: list('tagKeys', str('tagKeys', TAG_KEY, 'AWS tag keys (1-128 characters, no commas)')).default(
      [],
    ),
    breakdownTag: str('breakdownTag', TAG_KEY, 'an AWS tag key').default('Environment'),
    cisVersion: z
      .enum(CIS_VERSIONS, { error: () => `cisVersion: expected one of ${CIS_VERSIONS.join(', ')}` })
      .default(DEFAULT_CIS_VERSION),
    rotationDays: z.preprocess(fromString.number, z.unknown()).optional(),
    unusedDays: z.preprocess(fromString.number, z.unknown()).optional(),
    graceDays: z.preprocess(fromString.number, z.unknown()).optional(),
    rootUseDays: z.preprocess(fromString.number, z.unknown()).optional(),
    staleHours: z.preprocess(fromString.number, z.unknown()).optional(),
    retentionDays: int('retentionDays', 1, 36_500, 'a positive whole number of days').default(400),
    noncurrentVersionDays: int('noncurrentVersionDays', 1, 36_500, 'a positive whole number of days').default(
      30,
    ),
    logRetentionDays: z
      .preprocess(fromString.number, z.unknown())
      .refine((v) => (LOG_RETENTION_VALUES as readonly unknown[]).includes(v), {
        error: (i) =>
          `logRetentionDays: expected one of the CloudWatch Logs retention values ${LOG_RETENTION_VALUES.join(', ')}, got ${show(i.input)}`,
      })
      .transform((v) => v as number)
      .default(90),
    alarmEmail: str('alarmEmail', EMAIL, 'an email address').optional(),
    alarmTopicArn: z
      .string({ error: (i) => `alarmTopicArn: expected an SNS topic ARN, got ${show(i.input)}` })
      .optional(),
    alarmDelivery: z
      .literal('none', {
        error: (i) =>
          `alarmDelivery: the only value is "none" (the explicit opt-out); for delivery set alarmEmail or alarmTopicArn instead, got ${show(i.input)}`,
      })
      .optional(),
    reportBucketKms: bool('reportBucketKms').default(false),
    chatTopicArn: z
      .string({ error: (i) => `chatTopicArn: expected an SNS topic ARN, got ${show(i.input)}` })
      .optional(),
    chatTopic: bool('chatTopic').default(false),
    findingEvents: bool('findingEvents').default(false),
    maxFindingEvents: int(
      'maxFindingEvents',
      1,
      MAX_FINDING_EVENTS_LIMIT,
      `a whole number of events from 1 to ${MAX_FINDING_EVENTS_LIMIT}`,
    ).optional(),
    retainStacksOnAccountRemoval: bool('retainStacksOnAccountRemoval').default(false),
    maxConcurrentPercentage: int(
      'maxConcurrentPercentage',
      1,
      100,
      'a whole percentage from 1 to 100',
    ).default(50),
    failureTolerancePercentage: int(
      'failureTolerancePercentage',
      0,
      100,
      'a whole percentage from 0 to 100',
    ).default(10),
    maxEmailBytes: int(
      'maxEmailBytes',
      100_000,
      40_000_000,
      'a size in bytes up to 40000000 (the SES v2 limit)',
    ).default(10_000_000),
    tagCacheHours: int('tagCacheHours', 1, 8_760, 'a positive whole number of hours').default(24),
    exemptionMaxDays: int('exemptionMaxDays', 1, 3_650, 'a whole number of days from 1 to 3650').default(
      DEFAULT_EXEMPTION_MAX_DAYS,
    ),
    maxEntryBytes: int('maxEntryBytes', 16_384, 1_048_576, 'a size in bytes from 16384 to 1048576').default(
      DEFAULT_MAX_ENTRY_BYTES,
    ),
    collectBudgetSeconds: int(
      'collectBudgetSeconds',
      60,
      MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS,
      `seconds from 60 to ${MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS} (a minute below the agent timeout)`,
    ).default(600),
    agentStartWindowMinutes: int(
      'agentStartWindowMinutes',
      0,
      (MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS - 60) / 60,
      `whole minutes from 0 to ${(MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS - 60) / 60}`,
    ).default(DEFAULT_AGENT_START_WINDOW_MINUTES),
    athena: bool('athena').default(false),
    athenaDatabase: str(
      'athenaDatabase',
      GLUE_DATABASE,
      'a Glue database name (1-255 lower-case letters, digits or _)',
    ).optional(),
    athenaEnvironmentTag: str('athenaEnvironmentTag', TAG_KEY, 'an AWS tag key').optional(),
    athenaProductionValue: str(
      'athenaProductionValue',
      TAG_VALUE,
      'an AWS tag value (1-256 characters)',
    ).optional(),
    athenaOwnerTag: str('athenaOwnerTag', TAG_KEY, 'an AWS tag key').optional(),
    ownerDigests: z
      .enum(OWNER_DIGEST_MODES, {
        error: (i) => `ownerDigests: expected one of ${OWNER_DIGEST_MODES.join(', ')}, got ${show(i.input)}`,
      })
      .default('off'),
    ownerTagKeys: list(
      'ownerTagKeys',
      str('ownerTagKeys', TAG_KEY, 'AWS tag keys (1-128 characters, no commas)'),
    )
      .refine((v) => v.length <= 10, { error: 'ownerTagKeys: expected at most 10 tag keys' })
      .default([...DEFAULT_OWNER_TAG_KEYS]),
    defaultOwner: str('defaultOwner', EMAIL, 'an email address').optional(),
    ownerAllowedDomains: list(
      'ownerAllowedDomains',
      z
        .string({
          error: (i) => `ownerAllowedDomains: expected domains like example.com, got ${show(i.input)}`,
        })
        .transform((d) => d.toLowerCase())
        .refine(isValidDomain, {
          error: (i) => `ownerAllowedDomains: expected domains like example.com, got ${show(i.input)}`,
        }),
    )
      .refine((v) => v.length <= 50, { error: 'ownerAllowedDomains: expected at most 50 domains' })
      .default([]),
    ownerMinSeverity: z
      .enum(SEVERITIES, {
        error: (i) => `ownerMinSeverity: expected one of ${SEVERITIES.join(', ')}, got ${show(i.input)}`,
      })
      .default(DEFAULT_OWNER_MIN_SEVERITY),
    deactivation: DeactivationSchema.optional(),
    securityHub: bool('securityHub').default(false),
  })
  .superRefine((c, ctx) => {
    if (c.ownerDigests !== 'off' && c.ownerAllowedDomains.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `ownerAllowedDomains: required when ownerDigests is ${c.ownerDigests} (owner addresses outside these domains are refused)`,
      });
    }
    if (c.ownerDigests === 'send' && c.digestSender === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'ownerDigests: "send" requires digestSender (the verified SES address the owner digests are sent from)',
      });
    }
    if (c.defaultOwner !== undefined && c.ownerAllowedDomains.length > 0) {
      const check = checkOwnerAddress(c.defaultOwner, c.ownerAllowedDomains);
      if (!check.ok) {
        ctx.addIssue({
          code: 'custom',
          message: `defaultOwner: ${check.reason === 'invalid-address' ? 'not a plain email address' : 'its domain is not in ownerAllowedDomains'}, got ${show(c.defaultOwner)}`,
        });
      }
    }
    const d = c.deactivation;
    if (d !== undefined) {
      for (const kind of ['human', 'machine'] as const) {
        const problem = stageThresholdsProblem(ladderOf(d, kind));
        if (problem) ctx.addIssue({ code: 'custom', message: `deactivation.${kind}: ${problem}` });
      }
      if ((d.mode ?? 'dry-run') !== 'off' && c.reportBucketKms === true) {
        ctx.addIssue({
          code: 'custom',
          message:
            'deactivation: not available with reportBucketKms true yet: the member agents would need the report key (kms:Decrypt, kms:GenerateDataKey) across accounts to read their plan and write their audit log; set reportBucketKms false or deactivation.mode "off"',
        });
      }
    }
    if (c.targetOrganizationalUnitIds === undefined && c.organizationRootId === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'organizationRootId: required when targetOrganizationalUnitIds is not set (the StackSet then targets the whole organization, whose root id like r-ab12 it needs)',
      });
    }
    if (c.targetOrganizationalUnitIds !== undefined) {
      if (c.targetOrganizationalUnitIds.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'targetOrganizationalUnitIds: expected at least one OU or root id',
        });
      }
      const seen = new Set<string>();
      for (const id of c.targetOrganizationalUnitIds) {
        if (seen.has(id))
          ctx.addIssue({ code: 'custom', message: `targetOrganizationalUnitIds: ${id} is listed twice` });
        seen.add(id);
      }
    }
    if (c.digestRecipients.length > 0 && c.digestSender === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'digestSender: required when digestRecipients is not empty (a verified SES address to send from)',
      });
    }
    if (c.digestConfigurationSet !== undefined && c.digestSender === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'digestConfigurationSet: only meaningful with digestSender and digestRecipients (no email is sent without them)',
      });
    }
    const agentSeconds = c.agentStartWindowMinutes * 60 + c.collectBudgetSeconds;
    if (agentSeconds > MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        message: `agentStartWindowMinutes: a scheduled agent waits up to the window (${c.agentStartWindowMinutes} min = ${c.agentStartWindowMinutes * 60} s) before collecting for up to collectBudgetSeconds (${c.collectBudgetSeconds} s); together they must leave ${MEMBER_AGENT_PUBLISH_SECONDS} s of the agent's ${MEMBER_AGENT_TIMEOUT_SECONDS} s timeout to publish (at most ${MEMBER_AGENT_TIMEOUT_SECONDS - MEMBER_AGENT_PUBLISH_SECONDS} s, got ${agentSeconds} s): lower one of them`,
      });
    }
    if (c.managementAccountId !== undefined) {
      if (!c.delegatedAdmin) {
        ctx.addIssue({
          code: 'custom',
          message:
            'managementAccountId: only with delegatedAdmin true (otherwise the hub is the management account and collects it itself)',
        });
      }
      if (c.account === undefined) {
        ctx.addIssue({
          code: 'custom',
          message:
            "managementAccountId: requires account (the hub's account id: the management agent puts its report on the hub's central bus)",
        });
      } else if (c.account === c.managementAccountId) {
        ctx.addIssue({
          code: 'custom',
          message:
            'managementAccountId: must differ from account (a delegated administrator is not the management account)',
        });
      }
    }
    const deliveries = (['alarmEmail', 'alarmTopicArn', 'alarmDelivery'] as const).filter(
      (k) => c[k] !== undefined,
    );
    // Each problem starts with the one key it is about, and names the others.
    if (deliveries.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `alarmEmail: alarm delivery is required, and none of alarmEmail, alarmTopicArn, alarmDelivery is set: ${ALARM_DELIVERY_CHOICES}`,
      });
    }
    for (const extra of deliveries.slice(1)) {
      ctx.addIssue({
        code: 'custom',
        message: `${extra}: cannot be combined with ${deliveries[0] ?? ''}: ${ALARM_DELIVERY_CHOICES}`,
      });
    }
    if (c.alarmTopicArn !== undefined) {
      const problem = alarmTopicArnProblem(c.alarmTopicArn, c.deploymentRegion);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `alarmTopicArn: ${problem}, got ${show(c.alarmTopicArn)}` });
      }
    }
    if (c.chatTopicArn !== undefined) {
      if (c.chatTopic) {
        ctx.addIssue({
          code: 'custom',
          message:
            'chatTopic: cannot be combined with chatTopicArn: set chatTopicArn to publish to an existing topic, or chatTopic true to have the stack create one',
        });
      }
      const problem = chatTopicArnProblem(c.chatTopicArn, c.deploymentRegion);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `chatTopicArn: ${problem}, got ${show(c.chatTopicArn)}` });
      }
    }
    if (c.maxFindingEvents !== undefined && !c.findingEvents) {
      ctx.addIssue({
        code: 'custom',
        message:
          'maxFindingEvents: only meaningful with findingEvents true (no finding events are put without it)',
      });
    }
    athenaProblems(c).forEach((message) => ctx.addIssue({ code: 'custom', message }));
    if (c.digestSender !== undefined && c.digestRecipients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'digestRecipients: expected at least one address when digestSender is set (or remove digestSender)',
      });
    }
  });

/** Defaults of the `athena*` keys. */
export const ATHENA_DEFAULTS = {
  database: 'credreport',
  environmentTag: 'Environment',
  productionValue: 'Production',
  ownerTag: 'Owner',
} as const;

const ATHENA_DETAIL_KEYS = [
  'athenaDatabase',
  'athenaEnvironmentTag',
  'athenaProductionValue',
  'athenaOwnerTag',
] as const;

/** Why the `athena*` keys do not describe deployable tables, one problem per line (starting with its key). */
function athenaProblems(c: {
  readonly athena: boolean;
  readonly tagKeys: readonly string[];
  readonly athenaEnvironmentTag?: string | undefined;
  readonly athenaOwnerTag?: string | undefined;
  readonly athenaDatabase?: string | undefined;
  readonly athenaProductionValue?: string | undefined;
}): string[] {
  if (!c.athena) {
    return ATHENA_DETAIL_KEYS.filter((k) => c[k] !== undefined).map(
      (k) => `${k}: only meaningful with athena true (the Glue tables and saved queries are off)`,
    );
  }
  if (c.tagKeys.length === 0) {
    return [
      'tagKeys: required when athena is true: the CSV SerDe maps columns by position, so the tag columns must be fixed at synth (list the account tag keys to emit, including the environment and owner tags)',
    ];
  }
  const problems: string[] = [];
  for (const [key, tag] of [
    ['athenaEnvironmentTag', c.athenaEnvironmentTag ?? ATHENA_DEFAULTS.environmentTag],
    ['athenaOwnerTag', c.athenaOwnerTag ?? ATHENA_DEFAULTS.ownerTag],
  ] as const) {
    if (!c.tagKeys.includes(tag)) {
      problems.push(
        `${key}: ${show(tag)} is not one of tagKeys (${c.tagKeys.join(', ')}): the saved queries read its column; add it to tagKeys or set ${key}`,
      );
    }
  }
  try {
    athenaTableColumns(c.tagKeys);
  } catch (error) {
    if (!(error instanceof AthenaColumnError)) throw error;
    problems.push(error.message);
  }
  return problems;
}

/** The context keys this app reads (everything else in the context belongs to the CDK). */
export const CONFIG_KEYS: readonly string[] = Object.keys(ContextSchema.shape);

const THRESHOLD_KEYS = ['rotationDays', 'unusedDays', 'graceDays', 'rootUseDays', 'staleHours'] as const;

/**
 * Validates the app's context once. `context` is everything the app sees (`node.getAllContext()`);
 * CDK's own keys (with `:`, `@` or `-`) are ignored, an unknown camelCase key is reported as a likely typo.
 * Throws `ConfigError` listing every problem, each naming its key and what is expected.
 */
export function parseConfig(context: Readonly<Record<string, unknown>>): CredreportConfig {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (/^[a-z][A-Za-z0-9]*$/.test(key) && !CONFIG_KEYS.includes(key)) {
      problems.push(`${key}: unknown context key (known keys: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  const picked = Object.fromEntries(
    CONFIG_KEYS.filter((k) => context[k] !== undefined).map((k) => [k, context[k]]),
  );
  const parsed = ContextSchema.safeParse(picked);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => i.message));

  // Thresholds use the core's own schema so the stack and the digest agree on what is valid.
  const thresholdInput: Record<string, unknown> = Object.fromEntries(
    THRESHOLD_KEYS.filter((k) => picked[k] !== undefined).map((k) => [k, fromString.number(picked[k])]),
  );
  const thresholds = ThresholdsSchema.safeParse(thresholdInput);
  if (!thresholds.success) {
    for (const issue of thresholds.error.issues) {
      const key = String(issue.path[0] ?? 'thresholds');
      const what =
        key === 'graceDays'
          ? 'a whole number of days, 0 or more'
          : key === 'staleHours'
            ? 'a positive number of hours'
            : 'a positive whole number of days';
      problems.push(`${key}: expected ${what}, got ${show(thresholdInput[key])}`);
    }
  }
  if (!parsed.success || !thresholds.success || problems.length > 0) {
    throw new ConfigError(problems, { cause: parsed.error ?? thresholds.error });
  }
  const c = parsed.data;

  return {
    organizationId: c.organizationId,
    targetOrganizationalUnitIds: c.targetOrganizationalUnitIds ?? [c.organizationRootId as string],
    deploymentRegion: c.deploymentRegion,
    ...(c.account !== undefined ? { account: c.account } : {}),
    stackName: c.stackName,
    delegatedAdmin: c.delegatedAdmin,
    ...(c.managementAccountId !== undefined ? { managementAccountId: c.managementAccountId } : {}),
    agentSchedule: c.agentSchedule,
    digestSchedule: c.digestSchedule,
    digestTimeZone: c.digestTimeZone,
    digestRecipients: c.digestRecipients,
    ...(c.digestSender !== undefined ? { digestSender: c.digestSender } : {}),
    ...(c.digestConfigurationSet !== undefined ? { digestConfigurationSet: c.digestConfigurationSet } : {}),
    tagKeys: c.tagKeys,
    breakdownTag: c.breakdownTag,
    cisVersion: c.cisVersion,
    thresholds: thresholds.data,
    retentionDays: c.retentionDays,
    noncurrentVersionDays: c.noncurrentVersionDays,
    logRetentionDays: c.logRetentionDays,
    alarmDelivery:
      c.alarmEmail !== undefined
        ? { kind: 'email', email: c.alarmEmail }
        : c.alarmTopicArn !== undefined
          ? { kind: 'topic', topicArn: c.alarmTopicArn }
          : { kind: 'none' },
    reportBucketKms: c.reportBucketKms,
    retainStacksOnAccountRemoval: c.retainStacksOnAccountRemoval,
    maxConcurrentPercentage: c.maxConcurrentPercentage,
    failureTolerancePercentage: c.failureTolerancePercentage,
    maxEmailBytes: c.maxEmailBytes,
    tagCacheHours: c.tagCacheHours,
    exemptionMaxDays: c.exemptionMaxDays,
    maxEntryBytes: c.maxEntryBytes,
    collectBudgetSeconds: c.collectBudgetSeconds,
    agentStartWindowMinutes: c.agentStartWindowMinutes,
    chat:
      c.chatTopicArn !== undefined
        ? { kind: 'topic', topicArn: c.chatTopicArn }
        : c.chatTopic
          ? { kind: 'create' }
          : { kind: 'none' },
    findingEvents: c.findingEvents,
    maxFindingEvents: c.maxFindingEvents ?? DEFAULT_MAX_FINDING_EVENTS,
    ...(c.athena
      ? {
          athena: {
            database: c.athenaDatabase ?? ATHENA_DEFAULTS.database,
            environmentTag: c.athenaEnvironmentTag ?? ATHENA_DEFAULTS.environmentTag,
            productionValue: c.athenaProductionValue ?? ATHENA_DEFAULTS.productionValue,
            ownerTag: c.athenaOwnerTag ?? ATHENA_DEFAULTS.ownerTag,
          },
        }
      : {}),
    ownerDigests: c.ownerDigests,
    ownerTagKeys: c.ownerTagKeys,
    ...(c.defaultOwner !== undefined ? { defaultOwner: c.defaultOwner } : {}),
    ownerAllowedDomains: c.ownerAllowedDomains,
    ownerMinSeverity: c.ownerMinSeverity,
    deactivation: deactivationPolicyOf(c.deactivation),
    securityHub: c.securityHub,
  };
}

type DeactivationInput = NonNullable<z.infer<typeof DeactivationSchema>>;

/** One ladder: the kind's own keys over the shared ones over the defaults. */
function ladderOf(d: DeactivationInput, kind: 'human' | 'machine'): StageThresholds {
  const own = d[kind] ?? {};
  return {
    unusedDays: own.unusedDays ?? d.unusedDays ?? DEFAULT_STAGE_THRESHOLDS.unusedDays,
    noticeDays: own.noticeDays ?? d.noticeDays ?? DEFAULT_STAGE_THRESHOLDS.noticeDays,
    deactivateAfterDays:
      own.deactivateAfterDays ?? d.deactivateAfterDays ?? DEFAULT_STAGE_THRESHOLDS.deactivateAfterDays,
  };
}

/** Absent: off. Present without a mode: dry-run (the safe way to turn it on). */
function deactivationPolicyOf(d: DeactivationInput | undefined): DeactivationPolicy {
  return {
    mode: d === undefined ? 'off' : (d.mode ?? 'dry-run'),
    human: d ? ladderOf(d, 'human') : DEFAULT_STAGE_THRESHOLDS,
    machine: d ? ladderOf(d, 'machine') : DEFAULT_STAGE_THRESHOLDS,
    ...(d?.optOutTag !== undefined ? { optOutTag: d.optOutTag } : {}),
    planMaxAgeHours: d?.planMaxAgeHours ?? DEFAULT_PLAN_MAX_AGE_HOURS,
  };
}
