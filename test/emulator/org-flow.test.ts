/**
 * The whole flow against moto: a seeded organization, the real member agent in every member account,
 * the central bus (the agents put their parts on it directly), the real ingest and digest handlers; then `credreport collect`
 * against the same organization must write the same rows.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DigestResult } from '../../aggregator/digest';
import {
  ACCESS_KEY_COLUMNS,
  ACCOUNT_COLUMNS,
  NEVER_USED,
  CREDENTIAL_REPORT_COLUMNS,
  CREDENTIAL_REPORT_DERIVED_COLUMNS,
} from '../../core/columns';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, S3_LAYOUT } from '../../core/names';
import { AccountFacts, FINDING_IDS } from '../../core/types';
import {
  DigestOutputs,
  Emulator,
  Hub,
  deployHub,
  listKeys,
  motoSentMessages,
  parseCsv,
  pushAllMembers,
  readLatestOutputs,
  readText,
  runDigestHandler,
  sentEmails,
  startEmulator,
} from './harness';
import {
  blockedBySeededScp,
  buildCli,
  DATA_PATH_PREFIX,
  expectedPrivilegesAfterScps,
  expectedKeyFindings,
  expectedUserFindings,
  expectedUsers,
  FORMULA_START,
  indexRows,
  neutralised,
  rowUserKey,
  runCli,
  splitFindings,
  userKey,
  hasDirectPolicies,
} from './expectations';
import { emulatorEnv } from './moto';
import {
  HOSTILE_FORMULA,
  HOSTILE_SCRIPT,
  NON_ASCII,
  SEEDED_SCP_NAME,
  SeededOrg,
  defaultOrgSpec,
  rootAccountRow,
  seedOrganization,
  withRootRow,
} from './scenario';

jest.setTimeout(240_000);

const DAY_MS = 86_400_000;
let emulator: Emulator;
let org: SeededOrg;
let hub: Hub;
let pushRuns: Awaited<ReturnType<typeof pushAllMembers>>;
let digest: DigestResult;
let outputs: DigestOutputs;
let rootAccountId: string;
let cli: { dir: string; entry: string } | undefined;
const timings: Record<string, number> = {};

async function timed<T>(label: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    timings[label] = Date.now() - started;
  }
}

beforeAll(async () => {
  cli = await timed('build CLI bundle', () => buildCli());
  emulator = await timed('start moto + proxy', () => startEmulator());
  org = await timed('seed organization', () => seedOrganization(defaultOrgSpec()));
  // moto's credential report has no <root_account> row; splice one into one account's report so the
  // root findings travel the whole flow (key created long ago, used an hour ago, no MFA).
  rootAccountId = org.account('legacy').id;
  const rootRow = rootAccountRow(
    rootAccountId,
    '2021-06-01T08:00:00+00:00',
    new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
  );
  emulator.proxy.setReportRewrite((accountId, csv) =>
    accountId === rootAccountId ? withRootRow(csv, rootRow) : csv,
  );
  hub = await timed('deploy hub', () => deployHub(emulator, org));
  pushRuns = await timed('agents + ingest', () => pushAllMembers(emulator, hub));
  digest = await timed('digest', () => runDigestHandler(hub));
  outputs = await readLatestOutputs(hub);
}, 240_000);

afterAll(async () => {
  await emulator?.stop();
  if (cli) await rm(cli.dir, { recursive: true, force: true });
  if (Object.keys(timings).length > 0) {
    process.stdout.write(`emulator org-flow timings (ms): ${JSON.stringify(timings)}\n`);
  }
});

describe('push path: member agent → central bus → ingest → digest', () => {
  it('delivers every part of every ACTIVE member account straight to the central bus', () => {
    const members = org.activeAccounts().filter((a) => !a.isManagement);
    expect([...pushRuns.keys()].sort()).toEqual(members.map((a) => a.key).sort());
    for (const account of members) {
      const entry = pushRuns.get(account.key);
      expect(entry).toBeDefined();
      const { run, outcomes } = entry!;
      expect(run.result).toMatchObject({
        accountId: account.id,
        trigger: 'schedule',
        users: account.users.length,
      });
      expect(run.events).toHaveLength(run.result.parts);
      for (const event of run.events) {
        expect(event.source).toBe(EVENT_SOURCE);
        expect(event['detail-type']).toBe(EVENT_DETAIL_TYPE);
        expect(event.detail).toMatchObject({
          accountId: account.id,
          reportId: run.result.reportId,
          parts: run.result.parts,
        });
      }
      // The last part completes the report; nothing is rejected.
      expect(outcomes.at(-1)).toEqual({ status: 'stored', reportId: run.result.reportId });
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    }
  });

  it('stores each member account report as accounts/<id>/latest.json and leaves no parts behind', async () => {
    const keys = await listKeys(hub.bucket, S3_LAYOUT.accountsPrefix);
    for (const account of org.activeAccounts().filter((a) => !a.isManagement)) {
      expect(keys).toContain(S3_LAYOUT.accountLatest(account.id));
      const stored = JSON.parse(await readText(hub.bucket, S3_LAYOUT.accountLatest(account.id))) as {
        accountId: string;
        schemaVersion: number;
        accessKeys: unknown[];
        accountFacts?: AccountFacts;
      };
      expect(stored.accountId).toBe(account.id);
      // The account facts arrive end to end (schema v3). moto answers GetAccountSummary without
      // AccountPasswordPresent (unknown, so root MFA keeps today's verdict) and has no password policy.
      expect(stored.schemaVersion).toBe(3);
      expect(stored.accountFacts?.rootCredentials).toMatchObject({
        mfaEnabled: false,
        accessKeysPresent: false,
      });
      expect(stored.accountFacts?.rootCredentials).not.toHaveProperty('passwordPresent');
      expect(stored.accountFacts?.passwordPolicy).toEqual({ present: false });
      expect(stored.accountFacts?.rootMfaVirtual).toBe(false);
      expect([...(stored.accountFacts?.usersWithDirectPolicies ?? [])].sort()).toEqual(
        account.users
          .filter(hasDirectPolicies)
          .map((u) => u.name)
          .sort(),
      );
      expect(stored.accessKeys).toHaveLength(account.users.reduce((n, u) => n + u.keys.length, 0));
    }
    expect(keys.filter((k) => k.includes(org.account('closed').id))).toEqual([]);
  });

  it('reports full coverage of the ACTIVE accounts and ignores the suspended one', () => {
    const active = org.activeAccounts();
    expect(digest).toMatchObject({
      ok: true,
      email: 'sent',
      coverage: { expected: active.length, reporting: active.length, missing: 0, complete: true },
    });
    expect(outputs.summary.coverage).toMatchObject({
      expected: active.length,
      reporting: active.length,
      complete: true,
    });
    expect(outputs.summary.coverage.entries).toEqual([]);
    expect(JSON.stringify(outputs.summary)).not.toContain(org.account('closed').id);
  });

  it('writes the credential-report.csv columns of docs/ARCHITECTURE.md §6 with one tag column per org tag key', () => {
    const tagKeys = [...new Set(org.activeAccounts().flatMap((a) => Object.keys(a.tags)))].sort();
    expect(outputs.credentialReport.header).toEqual([
      ...ACCOUNT_COLUMNS,
      ...tagKeys.map((k) => `tag:${k}`),
      ...CREDENTIAL_REPORT_COLUMNS,
      ...CREDENTIAL_REPORT_DERIVED_COLUMNS,
    ]);
    expect(outputs.accessKeys.header).toEqual([
      ...ACCOUNT_COLUMNS,
      ...tagKeys.map((k) => `tag:${k}`),
      ...ACCESS_KEY_COLUMNS,
    ]);
  });

  it('writes one row per IAM user of every ACTIVE account (management included) and none for the suspended account', () => {
    const rows = indexRows(outputs.credentialReport, rowUserKey);
    const expected = expectedUsers(org).map(({ account, user }) => userKey(account.id, user.name));
    expected.push(`${rootAccountId}|<root_account>`);
    expect([...rows.keys()].sort()).toEqual(expected.sort());
    expect(outputs.credentialReport.rows.filter((r) => r.account_id === org.account('closed').id)).toEqual(
      [],
    );
  });

  it('reads the SCPs on every account path into org/metadata.json and counts their chains known', async () => {
    const cached = JSON.parse(await readText(hub.bucket, S3_LAYOUT.orgMetadata)) as {
      controlPolicies: {
        scp: { status: string; attachments: Record<string, { policyIds: string[] }> };
        policies: Record<string, { name: string }>;
      };
    };
    const scp = cached.controlPolicies.scp;
    expect(scp.status).toBe('enabled');
    const firstOu = org.ouIds[defaultOrgSpec().ous[0] as string] as string;
    expect(scp.attachments[firstOu]?.policyIds).toEqual(
      expect.arrayContaining(['p-FullAWSAccess', org.scpId]),
    );
    expect(cached.controlPolicies.policies[org.scpId]?.name).toBe(SEEDED_SCP_NAME);
    for (const account of org.activeAccounts()) expect(scp.attachments[account.id]).toBeDefined();
    const members = org.activeAccounts().filter((a) => !a.isManagement).length;
    expect(outputs.summary.controlPolicies).toEqual({
      accountsKnown: members,
      accountsUnknown: 0,
      accountsExempt: 1,
      flagsCleared: expectedFlagsCleared(),
    });
    // The scenario clears some flags (S3 reads below the first OU): a zero count would say little.
    expect(expectedFlagsCleared().s3Read).toBeGreaterThan(0);
  });

  it('clears the flags the SCP chain denies and names the SCP in the path columns of both CSVs', () => {
    const users = indexRows(outputs.credentialReport, rowUserKey);
    const keysByUser = new Map<string, Record<string, string>[]>();
    for (const row of outputs.accessKeys.rows) {
      const key = rowUserKey(row);
      keysByUser.set(key, [...(keysByUser.get(key) ?? []), row]);
    }
    for (const { account, user } of expectedUsers(org)) {
      const label = `${account.key}/${user.name}`;
      const expected = expectedPathColumns(account, user);
      const rows = [
        users.get(userKey(account.id, user.name)),
        ...(keysByUser.get(userKey(account.id, user.name)) ?? []),
      ];
      for (const row of rows) {
        const got = { label, admin: row?.admin_path ?? '', data: row?.data_read_path ?? '' };
        if (expected.admin instanceof RegExp || expected.data instanceof RegExp) {
          expect(got).toEqual({
            label,
            admin: expected.admin instanceof RegExp ? expect.stringMatching(expected.admin) : expected.admin,
            data: expected.data instanceof RegExp ? expect.stringMatching(expected.data) : expected.data,
          });
        } else expect(got).toEqual({ label, ...expected });
      }
    }
  });

  it('fills the account columns, OU paths and tag columns from Organizations', () => {
    for (const account of org.activeAccounts()) {
      const rows = outputs.credentialReport.rows.filter((r) => r.account_id === account.id);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row).toMatchObject({
          account_name: neutralised(account.name),
          account_email: account.email,
          account_state: 'ACTIVE',
          ou_path: account.ouPath,
        });
        for (const [key, value] of Object.entries(account.tags))
          expect(row[`tag:${key}`]).toBe(neutralised(value));
      }
    }
    const paths = new Set(outputs.credentialReport.rows.map((r) => r.ou_path));
    expect(paths).toEqual(
      new Set(['Root', 'Root/Workloads/Prod', 'Root/Workloads/Dev', 'Root/Sandbox/Lab', 'Root/Sandbox']),
    );
  });

  it('raises exactly the findings each seeded user calls for, with the privilege columns its policies grant', () => {
    const rows = indexRows(outputs.credentialReport, rowUserKey);
    for (const { account, user } of expectedUsers(org)) {
      const row = rows.get(userKey(account.id, user.name));
      const label = `${account.key}/${user.name}`;
      expect({ label, findings: splitFindings(row?.findings) }).toEqual({
        label,
        findings: expectedUserFindings(user, 0, expectedPrivilegesAfterScps(org, account, user).privileges),
      });
      expectPrivilegeColumns(label, row, expectedPrivilegesAfterScps(org, account, user).privileges);
      expect({ label, activeKeys: row?.active_keys }).toEqual({
        label,
        activeKeys: String(user.keys.filter((k) => k.status === 'Active').length),
      });
      expect(row?.is_root).toBe('false');
    }
  });

  it('names the policy that grants each privilege, through groups and inline policies too', () => {
    const keys = indexRows(outputs.accessKeys, (r) => r.access_key_id ?? '');
    const grantsOf = (accountKey: string, userName: string) => {
      const user = org.account(accountKey).users.find((u) => u.name === userName);
      const key = user?.keys.find((k) => k.status === 'Active');
      const row = keys.get(key?.accessKeyId ?? '');
      if (!row) throw new Error(`no access-keys.csv row for an active key of ${accountKey}/${userName}`);
      return row.granting_policies ?? '';
    };
    expect(grantsOf('prod-payments', 'alice.admin')).toContain('arn:aws:iam::aws:policy/AdministratorAccess');
    expect(grantsOf('prod-payments', 'ci-deploy')).toContain('arn:aws:iam::aws:policy/AdministratorAccess');
    // Outside the OU the SCP denies S3 in, the S3 read stays granted; below it, it is cleared and not listed.
    expect(grantsOf('lab', 'bob.mfa')).toContain('arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess');
    expect(grantsOf('prod-payments', 'bob.mfa')).toBe('');
    expect(grantsOf('prod-payments', 'etl-reader')).toContain('read-orders');
    expect(grantsOf('prod-payments', '=1+2@evil')).toContain('read-tables');
    expect(grantsOf('prod-payments', 'denied-reader')).toBe('');
  });

  it('writes one access-keys.csv row per access key with its slot, status, last use and findings', () => {
    const keys = indexRows(outputs.accessKeys, (r) => r.access_key_id ?? '');
    const seededKeys = expectedUsers(org).flatMap(({ account, user }) =>
      user.keys.map((key) => ({ account, user, key })),
    );
    expect([...keys.keys()].filter((id) => id !== '').sort()).toEqual(
      seededKeys.map((k) => k.key.accessKeyId).sort(),
    );
    const sameCreationSecond = (account: { id: string }, user: { name: string }): boolean => {
      const r = outputs.credentialReport.rows.find(
        (u) => u.account_id === account.id && u.user === neutralised(user.name),
      );
      const rotated = r?.access_key_1_last_rotated;
      return rotated !== undefined && rotated !== 'N/A' && rotated === r?.access_key_2_last_rotated;
    };
    for (const { account, user, key } of seededKeys) {
      const row = keys.get(key.accessKeyId);
      const label = `${account.key}/${user.name}/${key.slot}`;
      // Two keys seeded within the same second cannot be told apart by the credential report (its
      // last_rotated has second precision), so either pairing is right: then only the set of slots is checked.
      const sameSecond = user.keys.length === 2 && sameCreationSecond(account, user);
      expect({
        label,
        account: row?.account_id,
        user: row?.user,
        arn: row?.user_arn,
        slot: sameSecond ? 'either' : row?.key_slot,
        status: row?.status,
      }).toEqual({
        label,
        account: account.id,
        user: neutralised(user.name),
        arn: user.arn,
        slot: sameSecond ? 'either' : String(key.slot),
        status: key.status,
      });
      if (sameSecond) {
        const slots = user.keys.map((k) => keys.get(k.accessKeyId)?.key_slot).sort();
        expect({ label, slots }).toEqual({ label, slots: ['1', '2'] });
      }
      // The service comes from GetAccessKeyLastUsed (moto: 'sts', the call that used it) when the agent
      // looked the key up, else from the report, where moto always writes 'not_supported'.
      // Never used reads `never used` in credreport's own column, whether the report or the inventory said it.
      expect({ label, used: row?.last_used_date !== NEVER_USED }).toEqual({
        label,
        used: key.used,
      });
      if (key.used) expect(['sts', 'not_supported']).toContain(row?.last_used_service);
      // Privileges belong to the user, so every key row of a user carries them, active or not.
      const privileges = expectedPrivilegesAfterScps(org, account, user).privileges;
      expectPrivilegeColumns(label, row, privileges);
      expect({ label, findings: splitFindings(row?.findings) }).toEqual({
        label,
        findings: expectedKeyFindings(user, key, 0, privileges),
      });
    }
  });

  it('keeps a <root_account> row and raises the root findings on it', () => {
    const root = outputs.credentialReport.rows.find(
      (r) => r.account_id === rootAccountId && r.user === '<root_account>',
    );
    expect(root).toBeDefined();
    expect(root?.is_root).toBe('true');
    expect(splitFindings(root?.findings)).toEqual(
      expect.arrayContaining([
        'root-access-key',
        'root-mfa-disabled',
        'root-recently-used',
        'key-not-rotated',
      ]),
    );
    expect(digest.findings['root-access-key']).toBe(1);
  });

  it('neutralises hostile tag values and user names in both CSVs and keeps non-ASCII text intact', () => {
    const text = outputs.rawCredentialReport;
    // No cell of either CSV may start with a formula character.
    for (const csv of [outputs.credentialReport, outputs.accessKeys]) {
      for (const row of csv.rows)
        for (const value of Object.values(row)) expect(value).not.toMatch(FORMULA_START);
    }
    expect(text).toContain(`'${HOSTILE_FORMULA}`);
    const prodData = outputs.credentialReport.rows.find((r) => r.account_id === org.account('prod-data').id);
    expect(prodData?.['tag:Environment']).toBe(`'${HOSTILE_FORMULA}`);
    const devWeb = outputs.credentialReport.rows.find((r) => r.account_id === org.account('dev-web').id);
    expect(devWeb?.['tag:Environment']).toBe(HOSTILE_SCRIPT);
    expect(devWeb?.['tag:Owner']).toBe("'@web-team");
    const tokyo = outputs.accessKeys.rows.find((r) => r.account_id === org.account('dev-tokyo').id);
    expect(tokyo).toMatchObject({
      account_name: NON_ASCII,
      'tag:City': NON_ASCII,
      'tag:CostCenter': "'+SUM(1,2)",
    });
    expect(outputs.credentialReport.rows.some((r) => r.user === "'=1+2@evil")).toBe(true);
    expect(outputs.accessKeys.rows.some((r) => r.user === "'-rds.reader")).toBe(true);
  });

  it('escapes hostile values in the HTML digest', () => {
    expect(outputs.html).not.toContain(HOSTILE_SCRIPT);
    expect(outputs.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(outputs.html).toContain(NON_ASCII);
  });

  it('counts users per finding in the handler result as the rows say', () => {
    const counts = Object.fromEntries(FINDING_IDS.map((id) => [id, 0])) as Record<string, number>;
    for (const row of outputs.credentialReport.rows)
      for (const id of splitFindings(row.findings)) counts[id] = (counts[id] ?? 0) + 1;
    expect(digest.findings).toEqual(counts);
    // The scenario raises these on day 0; all-zero counts would make the comparison above say little.
    const dayZero = ['console-without-mfa', 'multiple-active-keys', 'privileged-key', 'data-read-key'];
    expect(dayZero.filter((id) => (counts[id] ?? 0) === 0)).toEqual([]);
  });

  it('writes the outputs to latest/ and to the dated run folder', async () => {
    const date = String(outputs.summary.generatedAt).slice(0, 10);
    const keys = await listKeys(hub.bucket);
    for (const name of Object.values(S3_LAYOUT.outputFiles)) {
      expect(keys).toContain(`${S3_LAYOUT.latestPrefix}${name}`);
      expect(keys).toContain(`${S3_LAYOUT.runPrefix(date)}${name}`);
    }
    expect(await readText(hub.bucket, `${S3_LAYOUT.runPrefix(date)}credential-report.csv`)).toBe(
      outputs.rawCredentialReport,
    );
    expect(digest.summaryKey).toBe(`${S3_LAYOUT.runPrefix(date)}summary.json`);
  });

  it('emails the digest to every recipient with the merged CSV attached', async () => {
    const mails = sentEmails(emulator);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail).toMatchObject({
      from: hub.sender,
      to: [...hub.recipients],
      status: 200,
      messageId: expect.any(String),
    });
    expect(mail?.subject).toContain(hub.org.organizationId);
    expect(mail?.html).not.toContain(HOSTILE_SCRIPT);
    expect(mail?.attachments).toHaveLength(1);
    const attachment = mail!.attachments[0]!;
    const csv = attachment.fileName.endsWith('.gz')
      ? gunzipSync(attachment.content).toString('utf8')
      : attachment.content.toString('utf8');
    expect(csv).toBe(outputs.rawCredentialReport);
    // moto's own record of the send (it keeps subject, addresses and the HTML body, not attachments).
    const recorded = await timed('read moto data.json', () => motoSentMessages(emulator));
    expect(recorded).toEqual([
      expect.objectContaining({
        id: mail?.messageId,
        source: hub.sender,
        subject: mail?.subject,
        body: mail?.html,
        destinations: expect.objectContaining({ ToAddresses: [...hub.recipients] }),
      }),
    ]);
  });
});

describe('pull path: credreport collect against the same organization', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the same rows as the push path and exits 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'credreport-collect-'));
    const run = await timed('collect (child process)', () =>
      runCli(cli!.entry, ['collect', '--out', dir], {
        ...emulatorEnv(emulator.endpoint),
        NODE_NO_WARNINGS: '1',
      }),
    );
    expect({ code: run.code, timedOut: run.timedOut, stderr: run.code === 0 ? '' : run.stderr }).toEqual({
      code: 0,
      timedOut: false,
      stderr: '',
    });

    const pulled = parseCsv(await readFile(join(dir, 'credential-report.csv'), 'utf8'));
    const pulledKeys = parseCsv(await readFile(join(dir, 'access-keys.csv'), 'utf8'));
    expect(pulled.header).toEqual(outputs.credentialReport.header);
    expect(pulledKeys.header).toEqual(outputs.accessKeys.header);

    // Each path asked IAM for its own report, so only the generation time may differ.
    const comparable = (row: Record<string, string>) => ({ ...row, report_generated_time: '' });
    const pushed = indexRows(outputs.credentialReport, rowUserKey);
    const pulledRows = indexRows(pulled, rowUserKey);
    expect([...pulledRows.keys()].sort()).toEqual([...pushed.keys()].sort());
    for (const [key, row] of pulledRows)
      expect({ key, row: comparable(row) }).toEqual({ key, row: comparable(pushed.get(key)!) });

    const byKeyId = (csv: typeof pulledKeys) =>
      indexRows(csv, (r) => `${r.account_id}|${r.user}|${r.key_slot}|${r.access_key_id}`);
    const pushedKeys = byKeyId(outputs.accessKeys);
    for (const [key, row] of byKeyId(pulledKeys))
      expect({ key, row }).toEqual({ key, row: pushedKeys.get(key) });
    expect(pulledKeys.rows).toHaveLength(outputs.accessKeys.rows.length);

    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as {
      coverage: { complete: boolean; expected: number };
      controlPolicies?: { flagsCleared: Record<string, number> };
    };
    expect(summary.coverage).toMatchObject({ complete: true, expected: org.activeAccounts().length });
    // collect reads the same SCPs and clears the same flags (the rows above carry the same path columns).
    expect(summary.controlPolicies?.flagsCleared).toEqual(expectedFlagsCleared());
  });
});

describe('digest later in time', () => {
  it('flags unrotated, unused and setup-time keys when the digest runs 120 days after the reports', async () => {
    const later = new Date(Date.now() + 120 * DAY_MS).toISOString();
    // The stored reports are 120 days old by then; keep them fresh enough to count for this check.
    const result = await runDigestHandler(hub, { now: later, env: { STALE_HOURS: String(200 * 24) } });
    expect(result.coverage.complete).toBe(true);
    const laterOutputs = await readLatestOutputs(hub);
    const rows = indexRows(laterOutputs.credentialReport, rowUserKey);
    for (const { account, user } of expectedUsers(org)) {
      const label = `${account.key}/${user.name}`;
      expect({ label, findings: splitFindings(rows.get(userKey(account.id, user.name))?.findings) }).toEqual({
        label,
        findings: expectedUserFindings(user, 120, expectedPrivilegesAfterScps(org, account, user).privileges),
      });
    }
    expect(result.findings['key-not-rotated']).toBeGreaterThan(0);
    expect(result.findings['credential-unused']).toBeGreaterThan(0);
    expect(result.findings['key-created-at-setup']).toBeGreaterThan(0);
    // The run is filed under its own date, beside the first run's.
    expect(result.summaryKey).toBe(`${S3_LAYOUT.runPrefix(later.slice(0, 10))}summary.json`);
  });
});

/** Flags the seeded SCP clears, per kind, over the users of the ACTIVE accounts. */
function expectedFlagsCleared(): Record<'admin' | 's3Read' | 'rdsRead' | 'dynamodbRead', number> {
  const counts = { admin: 0, s3Read: 0, rdsRead: 0, dynamodbRead: 0 };
  for (const { account, user } of expectedUsers(org)) {
    for (const flag of expectedPrivilegesAfterScps(org, account, user).cleared) counts[flag]++;
  }
  return counts;
}

/**
 * What admin_path and data_read_path hold for a seeded user: a proving path (any text; its kind's prefix
 * for data) when the flag holds after SCPs, the seeded SCP for a cleared flag, else empty.
 */
function expectedPathColumns(
  account: Parameters<typeof expectedPrivilegesAfterScps>[1],
  user: Parameters<typeof expectedPrivilegesAfterScps>[2],
): { admin: string | RegExp; data: string | RegExp } {
  const { privileges, cleared } = expectedPrivilegesAfterScps(org, account, user);
  const blocked = blockedBySeededScp(org);
  const admin = privileges.admin ? /^(?!blocked by).+/ : cleared.includes('admin') ? blocked : '';
  const dataFlags = ['s3Read', 'rdsRead', 'dynamodbRead'] as const;
  const data = dataFlags.some((f) => privileges[f])
    ? new RegExp(
        `^(${dataFlags
          .filter((f) => privileges[f])
          .map((f) => DATA_PATH_PREFIX[f])
          .join('|')}): (?!blocked by)`,
      )
    : dataFlags
        .filter((f) => cleared.includes(f))
        .map((f) => `${DATA_PATH_PREFIX[f]}: ${blocked}`)
        .join('; ');
  return { admin, data };
}

/** The four privilege columns of a CSV row equal the scenario's expectation for that user. */
function expectPrivilegeColumns(
  label: string,
  row: Record<string, string> | undefined,
  expected: { admin: boolean; s3Read: boolean; rdsRead: boolean; dynamodbRead: boolean },
): void {
  expect({
    label,
    admin: row?.admin,
    s3: row?.s3_read,
    rds: row?.rds_read,
    ddb: row?.dynamodb_read,
  }).toEqual({
    label,
    admin: String(expected.admin),
    s3: String(expected.s3Read),
    rds: String(expected.rdsRead),
    ddb: String(expected.dynamodbRead),
  });
}
