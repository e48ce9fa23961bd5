/**
 * The member → hub event contract (docs/ARCHITECTURE.md §4): the schema of one `Credential Report Part` event's
 * detail, the schema of the reassembled payload (`AccountReport`), and the one pair of functions that
 * split a report into parts and put it back together. Both sides parse with these strict schemas, so an
 * unknown field, a wrong version or a tampered part is rejected rather than half-understood.
 *
 * Payload encoding: `JSON.stringify(report)` as UTF-8 → gzip → base64; the base64 text is cut into
 * consecutive slices, one per part. `sha256` is the hex SHA-256 of the UTF-8 JSON bytes (the payload once
 * base64-decoded and gunzipped), identical in every part.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { CredreportError } from './errors';
import {
  ACCEPTED_SCHEMA_VERSIONS,
  AGENT_FAILURE_SCHEMA_VERSION,
  DEFAULT_MAX_ENTRY_BYTES,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  PAYLOAD_ENCODING,
} from './names';
import { MAX_GRANT_ACTIONS, MAX_GRANT_PATH, MAX_GRANTS_PER_KIND } from './privilege-proofs';
import { AccountReport, PRIVILEGE_KINDS } from './types';

/** A contract violation: a part or payload that does not match the schema, or a set of parts that does not assemble. */
export class ContractError extends CredreportError {}

/**
 * Upper bound on the decompressed payload, so a hostile part set (a gzip bomb from any principal of the
 * organization) cannot exhaust the ingest function's memory. IAM allows at most 5,000 users per account,
 * about 3.4 MB of payload (npm run bench -- --only agent); 32 MB leaves room for long policy lists.
 */
export const MAX_DECODED_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** Upper bound on parts per report: 512 parts of the smallest allowed entry (16 KB) still carry ~6 MB gzip. */
export const MAX_PARTS = 512;
/**
 * Upper bound on the joined base64 text of one report: gzip of the largest payload plus slack. Checked
 * on each part's declared set size (core/ingest-decision.ts), on the listed sizes of a stored set before
 * any part is read (aggregator/ingest.ts), and again before joining (assembleParts).
 */
export const MAX_JOINED_BASE64_CHARS = Math.ceil(((MAX_DECODED_PAYLOAD_BYTES + 1024 * 1024) * 4) / 3);
/**
 * Upper bound on what a stored part (the JSON of its detail, store/incoming-store.ts) holds besides its
 * payload. The longest genuine envelope (a 128-character reportId, `toISOString` times, 3-digit part
 * numbers) is under 400 characters; every field is ASCII, so characters are bytes.
 */
export const MAX_PART_ENVELOPE_BYTES = 1_024;

/**
 * The fewest base64 characters the set a part belongs to can join to, from that part alone: `splitReport`
 * cuts equal slices and the last one holds at least one character, so a non-final part of length L in a
 * set of N declares at least (N − 1) · L + 1; the final part declares only itself. A genuine report never
 * declares more than it has, so a declaration over {@link MAX_JOINED_BASE64_CHARS} is refused before the
 * part is stored (and, since each non-final part is then at most the bound / (N − 1), no set stored part
 * by part can join to more than the bound plus one part).
 */
export function declaredJoinedChars(part: Pick<PartDetail, 'part' | 'parts' | 'payload'>): number {
  const length = part.payload.length;
  return part.part < part.parts ? (part.parts - 1) * length + 1 : length;
}

/**
 * Bounds on every string and list of the payload (docs/ARCHITECTURE.md §4, §11): IAM's own limits where
 * it has one, so a genuine report always fits and a hostile one cannot carry megabytes in a user name or
 * a warning into the digest. IAM: user names ≤ 64 characters, access key ids 16–128 characters of
 * `[A-Z0-9]`, ARNs ≤ 2,048, 5,000 users per account (twice that here, as margin).
 */
export const PAYLOAD_BOUNDS = {
  userName: 64,
  accessKeyId: 128,
  /** Service and region names of a key's last use. */
  shortName: 128,
  /** A granting policy: an ARN or `user:<name>/<policy>`. */
  policyName: 2_048,
  policiesPerKind: 1_000,
  users: 10_000,
  accessKeys: 20_000,
  warning: 500,
  warnings: 200,
  /** Schema v2: grants per privilege kind (the shortest), a grant's path text and its actions. */
  grantsPerKind: MAX_GRANTS_PER_KIND,
  grantPath: MAX_GRANT_PATH,
  grantActions: MAX_GRANT_ACTIONS,
  /** An IAM action `service:Action`: service prefixes ≤ 64, action names ≤ 128 characters. */
  action: 200,
  quarantinePolicies: 3,
  /** Schema v3: IAM's password policy ranges (MinimumPasswordLength 6–128, PasswordReusePrevention 1–24). */
  passwordLengthMin: 6,
  passwordLengthMax: 128,
  passwordReuseMax: 24,
  /** Schema v3 `accountFacts.userTags`: IAM's tag limits (50 per user, keys ≤ 128, values ≤ 256) and a total. */
  tagsPerUser: 50,
  tagKey: 128,
  tagValue: 256,
  userTagPairs: 20_000,
} as const;

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const userName = z.string().min(1).max(PAYLOAD_BOUNDS.userName);
const shortName = z.string().max(PAYLOAD_BOUNDS.shortName);
const isoTime = z.iso.datetime({ offset: true });

const AccessKeyRecordSchema = z.strictObject({
  userName,
  accessKeyId: z
    .string()
    .min(16)
    .max(PAYLOAD_BOUNDS.accessKeyId)
    .regex(/^[A-Z0-9]+$/, 'must be an access key id (capital letters and digits)'),
  status: z.enum(['Active', 'Inactive', 'Expired']),
  createDate: isoTime,
  lastUsedDate: isoTime.optional(),
  lastUsedService: shortName.optional(),
  lastUsedRegion: shortName.optional(),
});

const policyNames = z
  .array(z.string().min(1).max(PAYLOAD_BOUNDS.policyName))
  .max(PAYLOAD_BOUNDS.policiesPerKind);
const GrantingPoliciesSchema = z.strictObject(
  Object.fromEntries(PRIVILEGE_KINDS.map((kind) => [kind, policyNames.optional()])) as Record<
    (typeof PRIVILEGE_KINDS)[number],
    z.ZodOptional<typeof policyNames>
  >,
);

const UserPrivilegesV1Schema = z.strictObject({
  userName,
  admin: z.boolean(),
  s3Read: z.boolean(),
  rdsRead: z.boolean(),
  dynamodbRead: z.boolean(),
  grantingPolicies: GrantingPoliciesSchema,
});

/**
 * Schema v2 grant (`Grant` in core/types.ts): one way the user holds a flag, as the proving path text and
 * every IAM action (`service:Action`) a request along it needs. The hub's SCP evaluation clears a flag
 * when each of its grants has an action the account's SCP chain does not allow.
 */
const GrantSchema = z.strictObject({
  path: z.string().min(1).max(PAYLOAD_BOUNDS.grantPath),
  actions: z
    .array(
      z
        .string()
        .max(PAYLOAD_BOUNDS.action)
        .regex(/^[a-z0-9-]+:[A-Za-z0-9]+$/, 'must be an IAM action service:Action'),
    )
    .min(1)
    .max(PAYLOAD_BOUNDS.grantActions),
});
const grantList = z.array(GrantSchema).min(1).max(PAYLOAD_BOUNDS.grantsPerKind);
const GrantsSchema = z.strictObject(
  Object.fromEntries(PRIVILEGE_KINDS.map((kind) => [kind, grantList.optional()])) as Record<
    (typeof PRIVILEGE_KINDS)[number],
    z.ZodOptional<typeof grantList>
  >,
);

const UserPrivilegesV2Schema = UserPrivilegesV1Schema.extend({
  grants: GrantsSchema.optional(),
  quarantinePolicies: z
    .array(z.string().min(1).max(PAYLOAD_BOUNDS.policyName))
    .max(PAYLOAD_BOUNDS.quarantinePolicies)
    .optional(),
});

const reportFields = {
  accountId,
  generatedTime: isoTime,
  collectedTime: isoTime,
  credentialReportCsv: z.string().min(1),
  accessKeys: z.array(AccessKeyRecordSchema).max(PAYLOAD_BOUNDS.accessKeys),
  warnings: z.array(z.string().max(PAYLOAD_BOUNDS.warning)).max(PAYLOAD_BOUNDS.warnings).optional(),
};

/** Schema v3 account facts (`AccountFacts` in core/types.ts): booleans and IAM's own integer ranges only. */
const AccountFactsSchema = z.strictObject({
  rootCredentials: z
    .strictObject({
      mfaEnabled: z.boolean().optional(),
      accessKeysPresent: z.boolean().optional(),
      passwordPresent: z.boolean().optional(),
      signingCertificatesPresent: z.boolean().optional(),
    })
    .optional(),
  passwordPolicy: z
    .discriminatedUnion('present', [
      z.strictObject({ present: z.literal(false) }),
      z.strictObject({
        present: z.literal(true),
        minimumPasswordLength: z
          .number()
          .int()
          .min(PAYLOAD_BOUNDS.passwordLengthMin)
          .max(PAYLOAD_BOUNDS.passwordLengthMax),
        passwordReusePrevention: z.number().int().min(1).max(PAYLOAD_BOUNDS.passwordReuseMax).optional(),
      }),
    ])
    .optional(),
  rootMfaVirtual: z.boolean().optional(),
  usersWithDirectPolicies: z.array(userName).max(PAYLOAD_BOUNDS.users).optional(),
  userTags: z
    .array(
      z.strictObject({
        userName,
        tags: z
          .record(z.string().min(1).max(PAYLOAD_BOUNDS.tagKey), z.string().max(PAYLOAD_BOUNDS.tagValue))
          .refine((t) => Object.keys(t).length <= PAYLOAD_BOUNDS.tagsPerUser, {
            message: `at most ${PAYLOAD_BOUNDS.tagsPerUser} tags per user`,
          }),
      }),
    )
    .max(PAYLOAD_BOUNDS.users)
    .refine(
      (users) => users.reduce((n, u) => n + Object.keys(u.tags).length, 0) <= PAYLOAD_BOUNDS.userTagPairs,
      {
        message: `at most ${PAYLOAD_BOUNDS.userTagPairs} user tags in all`,
      },
    )
    .optional(),
});

/**
 * Strict schema of the reassembled payload; must stay in step with `AccountReport` in core/types.ts.
 * Version 1 (agents not yet updated) has no `grants` / `quarantinePolicies`, versions 1 and 2 no
 * `accountFacts`; all three are accepted, and a field its version does not have is refused.
 */
export const AccountReportSchema: z.ZodType<AccountReport> = z.discriminatedUnion('schemaVersion', [
  z.strictObject({
    schemaVersion: z.literal(1),
    ...reportFields,
    privileges: z.array(UserPrivilegesV1Schema).max(PAYLOAD_BOUNDS.users).optional(),
  }),
  z.strictObject({
    schemaVersion: z.literal(2),
    ...reportFields,
    privileges: z.array(UserPrivilegesV2Schema).max(PAYLOAD_BOUNDS.users).optional(),
  }),
  z.strictObject({
    schemaVersion: z.literal(3),
    ...reportFields,
    privileges: z.array(UserPrivilegesV2Schema).max(PAYLOAD_BOUNDS.users).optional(),
    accountFacts: AccountFactsSchema.optional(),
  }),
]);

/** Strict schema of one event's `detail`. */
export const PartDetailSchema = z
  .strictObject({
    schemaVersion: z.union(ACCEPTED_SCHEMA_VERSIONS.map((v) => z.literal(v))),
    accountId,
    reportId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9._-]+$/, 'must only contain letters, digits, ".", "_" and "-"'),
    generatedTime: isoTime,
    collectedTime: isoTime,
    part: z.number().int().min(1).max(MAX_PARTS),
    parts: z.number().int().min(1).max(MAX_PARTS),
    encoding: z.literal(PAYLOAD_ENCODING),
    payload: z
      .string()
      .min(1)
      .max(1_048_576, 'must fit one EventBridge entry (1 MB)')
      .regex(/^[A-Za-z0-9+/=]+$/, 'must be base64 text'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'),
  })
  .refine((detail) => detail.part <= detail.parts, { message: 'part must not exceed parts', path: ['part'] });

export type PartDetail = z.infer<typeof PartDetailSchema>;

/** Where an agent run failed (the `stage` of an agent failure). */
/**
 * `start`: before collecting (the first-run answer to CloudFormation, the start-window wait);
 * `collect`, `publish`: those steps threw; `timeout`: the run was about to reach the function's timeout.
 */
export const AGENT_FAILURE_STAGES = ['start', 'collect', 'publish', 'timeout'] as const;
export type AgentFailureStage = (typeof AGENT_FAILURE_STAGES)[number];

/** Bounds of an agent failure's detail: the whole event stays under 2 KB. */
export const AGENT_FAILURE_BOUNDS = { runId: 128, errorName: 128, message: 1_024, agentVersion: 64 } as const;

/**
 * Strict schema of a `Credential Report Agent Failure` event's detail (docs/ARCHITECTURE.md §4): which
 * run of which account failed, where, and the error's class name and message — never report contents
 * (the agent sends the message of its own error, cut to the bound; the hub refuses anything longer).
 */
export const AgentFailureDetailSchema = z.strictObject({
  // Failure events have their own version (1), independent of the report's (core/names.ts).
  schemaVersion: z.literal(AGENT_FAILURE_SCHEMA_VERSION),
  accountId,
  /** The Lambda request id of the failed run. */
  runId: z
    .string()
    .min(1)
    .max(AGENT_FAILURE_BOUNDS.runId)
    .regex(/^[\w.:-]+$/, 'must only contain letters, digits, "_", ".", ":" and "-"'),
  /** When the agent gave up (bounded by the event's time at the hub). */
  failedTime: isoTime,
  stage: z.enum(AGENT_FAILURE_STAGES),
  errorName: z
    .string()
    .min(1)
    .max(AGENT_FAILURE_BOUNDS.errorName)
    .regex(/^[\w.:-]+$/, 'must be an error class name'),
  message: z
    .string()
    .max(AGENT_FAILURE_BOUNDS.message)
    // No control characters: the message is shown in the digest and logged.
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters'),
  agentVersion: z
    .string()
    .min(1)
    .max(AGENT_FAILURE_BOUNDS.agentVersion)
    .regex(/^[\w.+-]+$/, 'must be a version label'),
});
export type AgentFailureDetail = z.infer<typeof AgentFailureDetailSchema>;

/** Validates an agent failure's detail; throws ContractError naming each offending field. */
export function parseAgentFailureDetail(detail: unknown): AgentFailureDetail {
  const result = AgentFailureDetailSchema.safeParse(detail);
  if (!result.success) {
    throw new ContractError(`Invalid agent failure: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/**
 * Fits an error into an agent failure's bounds, on the agent's side: a class name that is not one
 * becomes `Error`, and the message loses control characters and is cut to the bound.
 */
export function boundAgentError(error: unknown): Pick<AgentFailureDetail, 'errorName' | 'message'> {
  const name = error instanceof Error ? error.name : 'NonError';
  const raw = error instanceof Error ? error.message : String(error);
  // eslint-disable-next-line no-control-regex
  const clean = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  const max = AGENT_FAILURE_BOUNDS.message;
  return {
    errorName: /^[\w.:-]{1,128}$/.test(name) ? name : 'Error',
    message: clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`,
  };
}

/**
 * Fits a collector's warnings into the contract's bounds: each one cut to {@link PAYLOAD_BOUNDS}.warning
 * characters, and past the limit the rest summed up in one last line, so a genuine report with many
 * unreadable policies is still accepted.
 */
export function boundWarnings(warnings: readonly string[]): string[] {
  const cut = (w: string): string =>
    w.length <= PAYLOAD_BOUNDS.warning ? w : `${w.slice(0, PAYLOAD_BOUNDS.warning - 1)}…`;
  if (warnings.length <= PAYLOAD_BOUNDS.warnings) return warnings.map(cut);
  const kept = warnings.slice(0, PAYLOAD_BOUNDS.warnings - 1).map(cut);
  return [...kept, `… and ${warnings.length - kept.length} more warnings`];
}

/**
 * Stable id of one collected report: `<accountId>-<generatedTime as YYYYMMDDTHHMMSSZ>`. Safe in S3 keys.
 * Two collections of the same IAM-generated report (IAM reuses a report for up to 4 hours) share it.
 */
export function reportIdFor(accountIdValue: string, generatedTime: string): string {
  const time = new Date(generatedTime);
  if (Number.isNaN(time.getTime())) {
    throw new ContractError(`reportIdFor: generatedTime '${generatedTime}' is not a valid time`);
  }
  const compact = time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${accountIdValue}-${compact}`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates one event detail; throws ContractError naming each offending field. */
export function parsePartDetail(detail: unknown): PartDetail {
  const result = PartDetailSchema.safeParse(detail);
  if (!result.success) {
    throw new ContractError(`Invalid credential report part: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Validates a reassembled (or stored) payload; throws ContractError naming each offending field. */
export function parseAccountReport(value: unknown): AccountReport {
  const result = AccountReportSchema.safeParse(value);
  if (!result.success) {
    throw new ContractError(`Invalid account report payload: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/**
 * Size of the PutEvents entry carrying `detail`, as EventBridge counts it: the UTF-8 bytes of Source,
 * DetailType and the Detail JSON (the agent sets neither Time nor Resources).
 */
export function entryBytes(detail: PartDetail): number {
  return (
    Buffer.byteLength(EVENT_SOURCE, 'utf8') +
    Buffer.byteLength(EVENT_DETAIL_TYPE, 'utf8') +
    Buffer.byteLength(JSON.stringify(detail), 'utf8')
  );
}

const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Splits a report into part details so that every PutEvents entry (Source + DetailType + Detail JSON)
 * is at most `maxEntryBytes` (default DEFAULT_MAX_ENTRY_BYTES). The report is validated first: the agent
 * never publishes a payload the hub would reject.
 */
export function splitReport(report: AccountReport, opts: { maxEntryBytes?: number } = {}): PartDetail[] {
  const maxEntryBytes = opts.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  if (!Number.isInteger(maxEntryBytes) || maxEntryBytes < 1) {
    throw new ContractError(`splitReport: maxEntryBytes must be a positive integer, got ${maxEntryBytes}`);
  }
  const valid = parseAccountReport(report);
  const json = Buffer.from(JSON.stringify(valid), 'utf8');
  if (json.length > MAX_DECODED_PAYLOAD_BYTES) {
    // Fail here, loudly, rather than publish parts the hub is bound to reject.
    throw new ContractError(
      `splitReport: report of account ${valid.accountId} is ${json.length} bytes, over the hub's limit of ${MAX_DECODED_PAYLOAD_BYTES}`,
    );
  }
  const base64 = gzipSync(json, { level: 9 }).toString('base64');
  const common = {
    schemaVersion: valid.schemaVersion,
    accountId: valid.accountId,
    reportId: reportIdFor(valid.accountId, valid.generatedTime),
    generatedTime: valid.generatedTime,
    collectedTime: valid.collectedTime,
    encoding: PAYLOAD_ENCODING,
    sha256: sha256Hex(json),
  } as const;

  // The envelope grows with the digits of `part`/`parts`; size slices for the widest numbers, growing the
  // assumed width until the resulting part count fits it. Base64 needs no JSON escaping, so one payload
  // character is one byte.
  let digits = 1;
  for (;;) {
    const widest = 10 ** digits - 1;
    const overhead = entryBytes({ ...common, part: widest, parts: widest, payload: '' });
    const sliceLength = maxEntryBytes - overhead;
    if (sliceLength < 1) {
      throw new ContractError(
        `splitReport: maxEntryBytes ${maxEntryBytes} leaves no room for payload (envelope needs ${overhead} bytes)`,
      );
    }
    const parts = Math.ceil(base64.length / sliceLength);
    if (String(parts).length > digits) {
      digits = String(parts).length;
      continue;
    }
    if (parts > MAX_PARTS) {
      throw new ContractError(
        `splitReport: report of account ${valid.accountId} needs ${parts} parts at ${maxEntryBytes} bytes per entry (max ${MAX_PARTS})`,
      );
    }
    const details: PartDetail[] = [];
    for (let i = 0; i < parts; i++) {
      details.push({
        ...common,
        part: i + 1,
        parts,
        payload: base64.slice(i * sliceLength, (i + 1) * sliceLength),
      });
    }
    return details;
  }
}

/**
 * Reassembles the parts of one report (any order). Checks that the set is complete (1..parts, each
 * once), that every part agrees on reportId, accountId, times, parts and sha256, that the decoded payload
 * matches sha256 and the AccountReport schema, and that the payload's account and time are the parts'.
 */
export function assembleParts(input: readonly PartDetail[]): AccountReport {
  if (input.length === 0) throw new ContractError('assembleParts: no parts given');
  const parts = input.map((detail) => parsePartDetail(detail));
  const first = parts[0] as PartDetail;
  const label = `report ${first.reportId} of account ${first.accountId}`;

  for (const field of [
    'schemaVersion',
    'reportId',
    'accountId',
    'generatedTime',
    'collectedTime',
    'parts',
    'sha256',
  ] as const) {
    const values = [...new Set(parts.map((p) => String(p[field])))];
    if (values.length > 1) {
      throw new ContractError(`assembleParts: parts of ${label} disagree on ${field} (${values.join(', ')})`);
    }
  }
  const expectedId = reportIdFor(first.accountId, first.generatedTime);
  if (first.reportId !== expectedId) {
    throw new ContractError(
      `assembleParts: reportId ${first.reportId} does not match account and generatedTime (${expectedId})`,
    );
  }

  const byNumber = new Map<number, PartDetail>();
  const duplicates = new Set<number>();
  for (const part of parts) {
    if (byNumber.has(part.part)) duplicates.add(part.part);
    byNumber.set(part.part, part);
  }
  if (duplicates.size > 0) {
    throw new ContractError(
      `assembleParts: ${label} has duplicate part(s) ${[...duplicates].sort((a, b) => a - b).join(', ')}`,
    );
  }
  const missing: number[] = [];
  for (let n = 1; n <= first.parts; n++) if (!byNumber.has(n)) missing.push(n);
  if (missing.length > 0) {
    const shown = missing.slice(0, 20).join(', ') + (missing.length > 20 ? ', …' : '');
    throw new ContractError(
      `assembleParts: ${label} is incomplete: missing part(s) ${shown} of ${first.parts}`,
    );
  }

  const joinedLength = parts.reduce((sum, part) => sum + part.payload.length, 0);
  if (joinedLength > MAX_JOINED_BASE64_CHARS) {
    throw new ContractError(
      `assembleParts: payload of ${label} is ${joinedLength} base64 characters, over the ${MAX_JOINED_BASE64_CHARS} a report may have`,
    );
  }
  const base64 = Array.from(
    { length: first.parts },
    (_, i) => (byNumber.get(i + 1) as PartDetail).payload,
  ).join('');
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
    throw new ContractError(`assembleParts: payload of ${label} is not valid base64 once joined`);
  }
  let json: Buffer;
  try {
    json = gunzipSync(Buffer.from(base64, 'base64'), { maxOutputLength: MAX_DECODED_PAYLOAD_BYTES });
  } catch (error) {
    throw new ContractError(
      `assembleParts: payload of ${label} is not valid gzip (or exceeds ${MAX_DECODED_PAYLOAD_BYTES} bytes)`,
      {
        cause: error,
      },
    );
  }
  const actual = sha256Hex(json);
  if (actual !== first.sha256) {
    throw new ContractError(
      `assembleParts: sha256 of ${label} does not match (parts say ${first.sha256}, payload is ${actual})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw new ContractError(`assembleParts: payload of ${label} is not valid JSON`, { cause: error });
  }
  const report = parseAccountReport(value);
  if (report.schemaVersion !== first.schemaVersion) {
    throw new ContractError(
      `assembleParts: payload of ${label} is schema version ${report.schemaVersion}, its parts say ${first.schemaVersion}`,
    );
  }
  if (report.accountId !== first.accountId) {
    throw new ContractError(
      `assembleParts: payload of ${label} is for account ${report.accountId}, not ${first.accountId}`,
    );
  }
  if (report.generatedTime !== first.generatedTime || report.collectedTime !== first.collectedTime) {
    throw new ContractError(
      `assembleParts: payload times of ${label} differ from the parts' generatedTime/collectedTime`,
    );
  }
  return report;
}
