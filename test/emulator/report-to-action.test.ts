/**
 * From report to action end to end against moto (issue 14): exemptions from the hub bucket, per-owner
 * digests (owner by account tag, by alternate SECURITY contact, by default), and staged deactivation
 * decided in the hub and done by the member agents.
 *
 * Day 1 runs everything in dry run: the agents collect, the digest plans and mails the owners, the agents
 * read their plans and log what they would do. Day 2 switches to enforce: the digest plans again (showing
 * the dry run's log), then IAM changes under the plan (a key is used, a key is rotated, a user is deleted),
 * then the agents act; a last digest shows what they did. moto stamps keys with the time they were made,
 * so the keys' ages come from the proxy (`backdateKey`), in ListAccessKeys and the credential report alike.
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { AccountClient, PutAlternateContactCommand } from '@aws-sdk/client-account';
import { OrganizationsClient, TagResourceCommand } from '@aws-sdk/client-organizations';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { DigestResult } from '../../aggregator/digest';
import {
  auditRecordLine,
  parseAuditLog,
  parseRemediationPlan,
  type DeactivationPolicy,
  type RemediationPlan,
  type RemediationSummary,
} from '../../core/deactivation';
import type { ExemptionsSummary } from '../../core/exemptions';
import { S3_LAYOUT } from '../../core/names';
import type { OwnersSummary } from '../../core/owners';
import { runDate } from '../../core/run-date';
import {
  Csv,
  DigestOutputs,
  Emulator,
  Hub,
  SentEmail,
  deployHub,
  listKeys,
  parseCsv,
  pushAllMembers,
  readLatestOutputs,
  readText,
  runDigestHandler,
  sentEmails,
  startEmulator,
} from './harness';
import { splitFindings } from './expectations';
import {
  AccountSpec,
  OrgSpec,
  SeededAccount,
  SeededOrg,
  UserSpec,
  rootUser,
  seedOrganization,
} from './scenario';

jest.setTimeout(300_000);

const DAY_MS = 86_400_000;
const ALLOWED_DOMAIN = 'example.com';
const TAG_OWNER = 'alice@example.com';
const CONTACT_OWNER = 'bob@example.com';
const DEFAULT_OWNER = 'secops@example.com';
const OUTSIDE_OWNER = 'mallory@evil.test';
/** The sandbox account's Owner tag after day 2: an allowed address, so it takes the account from the default. */
const NEW_TAG_OWNER = 'dave@example.com';
const OPT_OUT_TAG = 'credreport-keep';

/** Machine users (no console password) are warned at 30 days unused and deactivated at 60; humans at 60/120. */
const POLICY = (mode: 'dry-run' | 'enforce'): DeactivationPolicy => ({
  mode,
  machine: { unusedDays: 30, noticeDays: 10, deactivateAfterDays: 60 },
  human: { unusedDays: 60, noticeDays: 20, deactivateAfterDays: 120 },
  optOutTag: OPT_OUT_TAG,
  planMaxAgeHours: 26,
});

const NOTHING = { admin: false, s3Read: false, rdsRead: false, dynamodbRead: false } as const;
/** A user with one never-used active key; its age (days) is set with the proxy after seeding. */
const keyUser = (name: string, password = false): UserSpec => ({
  name,
  password,
  keys: [{ status: 'Active' }],
  expect: NOTHING,
});

/** Age in days of each seeded user's key (never used). */
const KEY_AGE_DAYS: Readonly<Record<string, number>> = {
  'etl-new': 10, // below every stage
  'etl-warn': 35, // machine warn (30)
  'etl-notice': 55, // machine final notice (60 - 10)
  'etl-due': 70, // machine deactivate (60)
  'etl-keep': 70, // due, but the user carries the opt-out tag
  dana: 70, // human warn (60): humans have a longer ladder
  erin: 130, // human deactivate (120)
  'batch-exempt': 70, // due, but an active exemption covers its credential-unused finding
  'report-expired': 70, // due; its exemption expired yesterday
  'ci-used': 70, // due; used after the enforce plan, before the agent acts
  'old-rotated': 70, // due; rotated after the enforce plan
  leaver: 70, // due; the user is deleted after the enforce plan
};

const ACCOUNTS: readonly AccountSpec[] = [
  {
    key: 'tagged',
    name: 'payments',
    email: 'aws+payments@example.com',
    ou: 'Workloads/Prod',
    tags: { Owner: TAG_OWNER, Environment: 'prod' },
    users: ['etl-new', 'etl-warn', 'etl-notice', 'etl-due', 'etl-keep'].map((n) => keyUser(n)),
  },
  {
    key: 'contact',
    name: 'analytics',
    email: 'aws+analytics@example.com',
    ou: 'Workloads',
    tags: { Environment: 'dev' },
    users: [keyUser('dana', true), keyUser('erin', true), keyUser('batch-exempt')],
  },
  {
    key: 'fallback',
    name: 'sandbox',
    email: 'aws+sandbox@example.com',
    ou: 'Workloads',
    // An address outside the allowed domains: refused, so the default owner gets the account.
    tags: { Owner: OUTSIDE_OWNER, Environment: 'dev' },
    users: ['report-expired', 'ci-used', 'old-rotated', 'leaver'].map((n) => keyUser(n)),
  },
];
const SPEC: OrgSpec = { ous: ['Workloads', 'Workloads/Prod'], management: { users: [] }, accounts: ACCOUNTS };

let emulator: Emulator;
let org: SeededOrg;
let hub: Hub;
let tagged: SeededAccount;
let contact: SeededAccount;
let fallback: SeededAccount;
let now: Date;

/** The access key id of a seeded user's (first) key. */
function keyOf(account: SeededAccount, userName: string): string {
  const id = account.users.find((u) => u.name === userName)?.keys[0]?.accessKeyId;
  if (!id) throw new Error(`no seeded key for ${account.key}/${userName}`);
  return id;
}

interface Day {
  readonly digest: DigestResult;
  readonly outputs: DigestOutputs;
  readonly summary: {
    readonly remediation?: RemediationSummary;
    readonly owners?: OwnersSummary;
    readonly exemptions?: ExemptionsSummary;
  };
  readonly findings: Csv;
  readonly plans: ReadonlyMap<string, RemediationPlan>;
  /** Mails this digest sent (SendEmail calls on the wire). */
  readonly mails: readonly SentEmail[];
}

const DIGEST_ENV = (mode: 'dry-run' | 'enforce') => ({
  DEACTIVATION_POLICY: JSON.stringify(POLICY(mode)),
  OWNER_DIGESTS: 'send',
  OWNER_TAG_KEYS: 'Owner',
  OWNER_ALLOWED_DOMAINS: ALLOWED_DOMAIN,
  DEFAULT_OWNER,
  OWNER_MIN_SEVERITY: 'high',
  // Account tags are re-read every run (the default caches them for 24 hours), so a changed Owner tag counts.
  TAG_CACHE_HOURS: '0.0001',
});

const AGENT_ENV = (mode: 'dry-run' | 'enforce') => ({
  DEACTIVATION_MODE: mode,
  REPORT_BUCKET: hub.bucket,
  PLAN_MAX_AGE_HOURS: '26',
});

async function digestDay(mode: 'dry-run' | 'enforce'): Promise<Day> {
  const before = sentEmails(emulator).length;
  const digest = await runDigestHandler(hub, { env: DIGEST_ENV(mode) });
  const outputs = await readLatestOutputs(hub);
  const findings = parseCsv(
    await readText(hub.bucket, `${S3_LAYOUT.latestPrefix}${S3_LAYOUT.outputFiles.findings}`),
  );
  const plans = new Map<string, RemediationPlan>();
  for (const key of await listKeys(hub.bucket, S3_LAYOUT.remediationPrefix)) {
    if (!key.endsWith('/plan.json')) continue;
    const plan = parseRemediationPlan(await readText(hub.bucket, key));
    plans.set(plan.accountId, plan);
  }
  return {
    digest,
    outputs,
    summary: outputs.summary as Day['summary'],
    findings,
    plans,
    mails: sentEmails(emulator).slice(before),
  };
}

const agentsRun = (mode: 'dry-run' | 'enforce') =>
  pushAllMembers(emulator, hub, undefined, { env: AGENT_ENV(mode) });

/** Every key of every member account as moto holds it: `account/user` → status per key id. */
async function keyStatuses(): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const account of [tagged, contact, fallback]) {
    const iam = new IAMClient({ credentials: account.credentials });
    const { Users } = await iam.send(new ListUsersCommand({}));
    for (const user of Users ?? []) {
      const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user.UserName }));
      for (const k of AccessKeyMetadata ?? []) statuses.set(k.AccessKeyId ?? '', k.Status ?? '');
    }
  }
  return statuses;
}

let day1: Day;
let day1Statuses: Map<string, string>;
let dryRunUpdateCalls: number;
let enforceUpdateCalls: ReturnType<Emulator['proxy']['callsTo']>;
let day2: Day;
let day3: Day;
let rotatedNewKey: string;
const EXPIRED_ON = (at: Date) => runDate(new Date(at.getTime() - DAY_MS));

beforeAll(async () => {
  emulator = await startEmulator();
  org = await seedOrganization(SPEC);
  tagged = org.account('tagged');
  contact = org.account('contact');
  fallback = org.account('fallback');
  now = new Date();
  for (const account of [tagged, contact, fallback]) {
    for (const user of account.users) {
      const days = KEY_AGE_DAYS[user.name];
      const key = user.keys[0];
      if (days === undefined || !key) continue;
      emulator.proxy.backdateKey({
        accountId: account.id,
        userName: user.name,
        slot: key.slot,
        accessKeyId: key.accessKeyId,
        createDate: new Date(now.getTime() - days * DAY_MS - 3_600_000),
      });
    }
  }
  // The root user of `fallback` holds an access key created a year ago and never used: never staged.
  emulator.proxy.setRootUser(
    fallback.id,
    rootUser(fallback.id, { password: true, accessKey: true, mfa: true }),
  );
  await new IAMClient({ credentials: tagged.credentials }).send(
    new TagUserCommand({ UserName: 'etl-keep', Tags: [{ Key: OPT_OUT_TAG, Value: 'vendor feed' }] }),
  );
  // The analytics account's owner is its alternate security contact, set from the management account.
  await new AccountClient({}).send(
    new PutAlternateContactCommand({
      AccountId: contact.id,
      AlternateContactType: 'SECURITY',
      EmailAddress: CONTACT_OWNER,
      Name: 'Bob',
      PhoneNumber: '+1-555-0100',
      Title: 'Security lead',
    }),
  );
  hub = await deployHub(emulator, org);
  await new S3Client({}).send(
    new PutObjectCommand({
      Bucket: hub.bucket,
      Key: S3_LAYOUT.exemptions,
      ContentType: 'application/json',
      Body: JSON.stringify({
        version: 1,
        exemptions: [
          {
            id: 'batch-vendor',
            reason: 'Vendor batch job, key rotated by the vendor',
            approvedBy: 'security@example.com',
            expires: runDate(new Date(now.getTime() + 30 * DAY_MS)),
            accounts: [contact.id],
            users: ['batch-*'],
            findings: ['credential-unused'],
          },
          {
            id: 'report-legacy',
            reason: 'Legacy reporting, to be migrated',
            approvedBy: 'security@example.com',
            expires: EXPIRED_ON(now),
            users: ['report-expired'],
            findings: ['credential-unused'],
          },
          {
            id: 'never-matches',
            reason: 'A user that no longer exists',
            approvedBy: 'security@example.com',
            expires: runDate(new Date(now.getTime() + 60 * DAY_MS)),
            users: ['nobody-*'],
          },
        ],
      }),
    }),
  );

  // Day 1, dry run: collect, plan, mail the owners; then the agents read their plans.
  await agentsRun('dry-run');
  emulator.proxy.clear();
  day1 = await digestDay('dry-run');
  // A second active key for etl-new: a new (medium) finding in the tagged account for day 2.
  await new IAMClient({ credentials: tagged.credentials }).send(
    new CreateAccessKeyCommand({ UserName: 'etl-new' }),
  );
  await agentsRun('dry-run');
  dryRunUpdateCalls = emulator.proxy.callsTo('iam', 'UpdateAccessKey').length;
  day1Statuses = await keyStatuses();

  // Day 2, enforce: the digest plans again and shows the dry run's log.
  emulator.proxy.clear();
  day2 = await digestDay('enforce');
  // IAM changes under the plan, before the agents act.
  const fallbackIam = new IAMClient({ credentials: fallback.credentials });
  const ciUsed = fallback.users.find((u) => u.name === 'ci-used')?.keys[0];
  if (!ciUsed) throw new Error('no ci-used key');
  await new STSClient({
    credentials: { accessKeyId: ciUsed.accessKeyId, secretAccessKey: ciUsed.secretAccessKey },
  }).send(new GetCallerIdentityCommand({}));
  const created = await fallbackIam.send(new CreateAccessKeyCommand({ UserName: 'old-rotated' }));
  rotatedNewKey = created.AccessKey?.AccessKeyId ?? '';
  await fallbackIam.send(
    new DeleteAccessKeyCommand({ UserName: 'old-rotated', AccessKeyId: keyOf(fallback, 'old-rotated') }),
  );
  await fallbackIam.send(
    new DeleteAccessKeyCommand({ UserName: 'leaver', AccessKeyId: keyOf(fallback, 'leaver') }),
  );
  await fallbackIam.send(new DeleteUserCommand({ UserName: 'leaver' }));
  // The sandbox account's owner changes under the plan: it changes who is mailed, never what is done.
  await new OrganizationsClient({}).send(
    new TagResourceCommand({ ResourceId: fallback.id, Tags: [{ Key: 'Owner', Value: NEW_TAG_OWNER }] }),
  );
  emulator.proxy.clear();
  await agentsRun('enforce');
  enforceUpdateCalls = emulator.proxy.callsTo('iam', 'UpdateAccessKey');
  day3 = await digestDay('enforce');
}, 300_000);

afterAll(async () => {
  await emulator?.stop();
});

/** A plan's actions as `[user, stage, ladder]`, by user name. */
const plannedOf = (day: Day, account: SeededAccount) =>
  (day.plans.get(account.id)?.actions ?? [])
    .map((a) => [a.userName, a.stage, a.kind])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

const deactivateOnOf = (day: Day, userName: string) =>
  [...day.plans.values()].flatMap((p) => p.actions).find((a) => a.userName === userName)?.deactivateOn;

const mailTo = (day: Day, address: string) => day.mails.filter((m) => m.to.includes(address));
const recipients = (day: Day) => day.mails.map((m) => [...m.to].sort().join(',')).sort();
const CENTRAL = 'platform@example.com,security@example.com';

describe('from report to action (emulator)', () => {
  it('plans each key on its own ladder in dry run, sparing the opt-out user, the exempted key and the root user', () => {
    expect([...day1.plans.keys()].sort()).toEqual([tagged.id, contact.id, fallback.id].sort());
    expect([...day1.plans.values()].every((p) => p.mode === 'dry-run')).toBe(true);
    expect(plannedOf(day1, tagged)).toEqual([
      ['etl-due', 'deactivate', 'machine'],
      ['etl-notice', 'final-notice', 'machine'],
      ['etl-warn', 'warn', 'machine'],
    ]);
    // Console users are on the human ladder: 70 days unused is a warning there, 130 is due.
    expect(plannedOf(day1, contact)).toEqual([
      ['dana', 'warn', 'human'],
      ['erin', 'deactivate', 'human'],
    ]);
    // The expired exemption spares nothing; the root user's year-old key is never planned.
    expect(plannedOf(day1, fallback)).toEqual([
      ['ci-used', 'deactivate', 'machine'],
      ['leaver', 'deactivate', 'machine'],
      ['old-rotated', 'deactivate', 'machine'],
      ['report-expired', 'deactivate', 'machine'],
    ]);
    const remediation = day1.summary.remediation;
    expect(remediation).toMatchObject({
      mode: 'dry-run',
      planned: { warn: 2, 'final-notice': 1, deactivate: 6 },
      spared: { optOut: 1, exempt: 1 },
      plansWritten: 3,
      notPlanned: [],
    });
    // Due dates: a never-used key counts from its creation; a due key is due on the day of the plan.
    const created = (days: number) => new Date(now.getTime() - days * DAY_MS - 3_600_000);
    expect(deactivateOnOf(day1, 'etl-warn')).toBe(runDate(new Date(created(35).getTime() + 60 * DAY_MS)));
    expect(deactivateOnOf(day1, 'dana')).toBe(runDate(new Date(created(70).getTime() + 120 * DAY_MS)));
    // The day of the plan (the digest's own clock: the run may cross midnight UTC after `now` was taken).
    const planDay = day1.plans.get(contact.id)?.generatedAt.slice(0, 10);
    expect(deactivateOnOf(day1, 'erin')).toBe(planDay);
    expect(day1.outputs.html).toContain(`warning: would deactivate on ${deactivateOnOf(day1, 'etl-warn')}`);
    expect(day1.outputs.html).toContain(`due: would deactivate on ${planDay}`);
  });

  it('lets the dry-run agents log what they would do and change nothing in IAM', () => {
    expect(dryRunUpdateCalls).toBe(0);
    expect([...day1Statuses.values()].every((s) => s === 'Active')).toBe(true);
    const log = day2.summary.remediation?.log;
    expect(log).toMatchObject({ deactivated: 0, skipped: 0, failed: 0, plansRefused: [] });
    expect(log?.records.map((r) => [r.userName, r.outcome]).sort()).toEqual(
      ['ci-used', 'erin', 'etl-due', 'leaver', 'old-rotated', 'report-expired'].map((u) => [
        u,
        'would-deactivate',
      ]),
    );
    // Each record's line, on the day the agent wrote it.
    for (const r of log?.records ?? []) expect(day2.outputs.html).toContain(auditRecordLine(r));
    expect(day2.outputs.html).toContain('would have been deactivated on');
  });

  it('exempts the covered finding, reopens the expired entry and reports the entry that matched nothing', () => {
    const x = day1.summary.exemptions;
    expect(x).toMatchObject({
      source: 'file',
      entries: 3,
      counts: { exempted: 1, reopened: 1, unmatchedEntries: 1, expiredEntries: 1, rejectedEntries: 0 },
      unmatched: [{ id: 'never-matches' }],
      expired: [{ id: 'report-legacy', expiredOn: EXPIRED_ON(now), reopened: 1 }],
    });
    expect(x?.exempted).toEqual([
      expect.objectContaining({
        accountId: contact.id,
        userName: 'batch-exempt',
        finding: 'credential-unused',
        exemptedBy: ['batch-vendor'],
      }),
    ]);
    expect(x?.reopened).toEqual([
      expect.objectContaining({
        accountId: fallback.id,
        userName: 'report-expired',
        finding: 'credential-unused',
        note: `exemption expired on ${EXPIRED_ON(now)}`,
      }),
    ]);
    const keyRow = (account: SeededAccount, user: string) =>
      day1.outputs.accessKeys.rows.find((r) => r.account_id === account.id && r.user === user);
    expect(keyRow(contact, 'batch-exempt')).toMatchObject({
      exempted_by: 'credential-unused:batch-vendor',
    });
    expect(splitFindings(keyRow(contact, 'batch-exempt')?.findings)).not.toContain('credential-unused');
    expect(splitFindings(keyRow(fallback, 'report-expired')?.findings)).toContain('credential-unused');
    expect(keyRow(fallback, 'report-expired')?.exemption_note).toContain('exemption expired on');
    // findings.csv keeps the exempted finding as a row of its own, marked; the reopened one is open.
    const rows = (user: string) =>
      day1.findings.rows
        .filter((r) => r.user === user && r.finding_id === 'credential-unused')
        .map((r) => [r.exempted_by, r.exemption_note]);
    expect(rows('batch-exempt')).toEqual([['batch-vendor', '']]);
    expect(rows('report-expired')).toEqual([['', `exemption expired on ${EXPIRED_ON(now)} (report-legacy)`]]);
    const central = mailTo(day1, 'security@example.com')[0];
    expect(central?.text).toContain('1 exempted finding, 0 expiring within 14 days');
    expect(central?.text).toContain('1 entry matched nothing: never-matches');
  });

  it('finds each owner by tag, alternate contact or default, and refuses a tag outside the allowed domains', () => {
    expect(day1.summary.owners).toMatchObject({
      mode: 'send',
      owners: 3,
      accountsWithOwner: 4,
      accountsWithoutOwner: 0,
      // The default owner has the sandbox account (tag refused) and the management account.
      bySource: { tag: 1, 'alternate-contact': 1, default: 2 },
      refused: {
        count: 1,
        items: [{ accountId: fallback.id, value: OUTSIDE_OWNER, reason: 'domain-not-allowed' }],
      },
      contactsUnreadable: { denied: 0, failed: 0 },
    });
    const everyRecipient = [day1, day2, day3].flatMap((d) => d.mails.flatMap((m) => m.to));
    expect(everyRecipient.filter((to) => !to.endsWith(`@${ALLOWED_DOMAIN}`))).toEqual([]);
    expect(mailTo(day1, 'security@example.com')[0]?.text).toContain(
      `owner address refused: tag Owner "${OUTSIDE_OWNER}"`,
    );
  });

  it('mails each due owner only their own accounts, with the dates before anything happens', () => {
    // Day 1 is the first run: nothing is new. Analytics has console users without MFA (high), sandbox a root
    // key (critical); payments has only medium findings, but a key at final notice and one due: its owner is
    // told before anything happens, whatever the severity of credential-unused.
    expect(recipients(day1)).toEqual([CENTRAL, TAG_OWNER, CONTACT_OWNER, DEFAULT_OWNER].sort());
    expect(day1.digest.owners).toEqual({ due: 3, delivered: 3, failed: 0 });
    expect(day1.mails.every((m) => m.status === 200)).toBe(true);
    const alice = mailTo(day1, TAG_OWNER)[0]?.html ?? '';
    expect(alice).toContain(tagged.id);
    for (const other of [contact, fallback]) expect(alice).not.toContain(other.id);
    expect(alice).toContain(`final notice: would deactivate on ${deactivateOnOf(day1, 'etl-notice')}`);
    expect(alice).toContain(`due: would deactivate on ${deactivateOnOf(day1, 'etl-due')}`);
    const bob = mailTo(day1, CONTACT_OWNER)[0]?.html ?? '';
    expect(bob).toContain(contact.id);
    for (const other of [tagged, fallback]) expect(bob).not.toContain(other.id);
    expect(bob).toContain(`warning: would deactivate on ${deactivateOnOf(day1, 'dana')}`);
    expect(bob).not.toContain('etl-warn');
    const secops = mailTo(day1, DEFAULT_OWNER)[0]?.html ?? '';
    expect(secops).toContain(fallback.id);
    // The management account (no users) is the default owner's too: two accounts expected and reporting.
    expect(mailTo(day1, DEFAULT_OWNER)[0]?.subject).toContain('coverage 2/2');
    for (const other of [tagged, contact]) expect(secops).not.toContain(other.id);
    // Day 2: the tagged account's new finding (a second active key) is in its owner's "what changed".
    expect(recipients(day2)).toEqual([CENTRAL, TAG_OWNER, CONTACT_OWNER, DEFAULT_OWNER].sort());
    const aliceDay2 = mailTo(day2, TAG_OWNER)[0]?.html ?? '';
    expect(aliceDay2).toContain('multiple-active-keys');
    for (const other of [contact, fallback]) expect(aliceDay2).not.toContain(other.id);
    // Day 3: the sandbox account's new Owner tag takes it from the default owner, whose management account
    // alone (medium findings, nothing new, no key staged) is not due: no mail.
    expect(recipients(day3)).toEqual([CENTRAL, TAG_OWNER, CONTACT_OWNER, NEW_TAG_OWNER].sort());
    expect(day3.summary.owners).toMatchObject({
      bySource: { tag: 2, 'alternate-contact': 1, default: 1 },
      refused: { count: 0 },
    });
    const dave = mailTo(day3, NEW_TAG_OWNER)[0]?.html ?? '';
    expect(dave).toContain(fallback.id);
    for (const other of [tagged, contact]) expect(dave).not.toContain(other.id);
    // The new owner is told what was done in their account: the sandbox key deactivated on day 2's plan.
    expect(dave).toContain('deactivated on');
  });

  it('deactivates exactly the due keys in enforce mode, and skips the used, rotated and deleted ones', async () => {
    expect([...day2.plans.values()].every((p) => p.mode === 'enforce')).toBe(true);
    const updates = enforceUpdateCalls.map((c) => [
      c.accountId,
      c.params?.get('AccessKeyId'),
      c.params?.get('Status'),
    ]);
    expect(updates.sort()).toEqual(
      [
        [contact.id, keyOf(contact, 'erin'), 'Inactive'],
        [fallback.id, keyOf(fallback, 'report-expired'), 'Inactive'],
        [tagged.id, keyOf(tagged, 'etl-due'), 'Inactive'],
      ].sort(),
    );
    const statuses = await keyStatuses();
    const inactive = [...statuses].filter(([, s]) => s !== 'Active').map(([id]) => id);
    expect(inactive.sort()).toEqual(
      [keyOf(contact, 'erin'), keyOf(fallback, 'report-expired'), keyOf(tagged, 'etl-due')].sort(),
    );
    // Everything else is still there and active: the opt-out, exempted, young and used keys, the new key.
    for (const [account, user] of [
      [tagged, 'etl-new'],
      [tagged, 'etl-warn'],
      [tagged, 'etl-notice'],
      [tagged, 'etl-keep'],
      [contact, 'dana'],
      [contact, 'batch-exempt'],
      [fallback, 'ci-used'],
    ] as const) {
      expect([user, statuses.get(keyOf(account, user))]).toEqual([user, 'Active']);
    }
    expect(statuses.get(rotatedNewKey)).toBe('Active');
    expect(statuses.has(keyOf(fallback, 'old-rotated'))).toBe(false);
    expect(statuses.has(keyOf(fallback, 'leaver'))).toBe(false);
    // The audit log the sandbox agent wrote for itself.
    const logKeys = await listKeys(hub.bucket, S3_LAYOUT.remediationLogPrefix(fallback.id));
    const enforceLog = parseAuditLog(await readText(hub.bucket, logKeys[logKeys.length - 1] ?? ''));
    expect(logKeys).toHaveLength(2); // the dry run's and the enforce run's: neither replaces the other
    expect(enforceLog).toMatchObject({ accountId: fallback.id, mode: 'enforce', plan: 'acted' });
  });

  it('shows every action and skip in the next digest, and plans no settled key again', () => {
    const log = day3.summary.remediation?.log;
    expect(log).toMatchObject({
      deactivated: 3,
      wouldDeactivate: 0,
      skipped: 3,
      failed: 0,
      plansRefused: [],
    });
    expect(log?.records.map((r) => [r.userName, r.outcome, r.reason]).sort()).toEqual(
      [
        ['ci-used', 'skipped', 'used-since-plan'],
        ['erin', 'deactivated', undefined],
        ['etl-due', 'deactivated', undefined],
        // IAM deletes a user's keys before the user, so a deleted user's key is gone.
        ['leaver', 'skipped', 'key-gone'],
        ['old-rotated', 'skipped', 'key-gone'],
        ['report-expired', 'deactivated', undefined],
      ].sort(),
    );
    const html = day3.outputs.html;
    for (const r of log?.records ?? []) expect(html).toContain(auditRecordLine(r));
    expect(
      log?.records.map(auditRecordLine).filter((l) => /^(deactivated|skipped) on /.test(l)),
    ).toHaveLength(6);
    // The reports predate the agents' actions; the settled keys are not planned again, the rest are.
    expect(day3.summary.remediation?.planned).toEqual({ warn: 2, 'final-notice': 1, deactivate: 0 });
    expect(plannedOf(day3, tagged)).toEqual([
      ['etl-notice', 'final-notice', 'machine'],
      ['etl-warn', 'warn', 'machine'],
    ]);
    expect(plannedOf(day3, contact)).toEqual([['dana', 'warn', 'human']]);
    // The sandbox account had a plan and has nothing left: an empty plan supersedes it.
    expect(day3.plans.get(fallback.id)?.actions).toEqual([]);
  });
});
