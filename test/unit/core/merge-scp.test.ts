import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { grantsOfReport, MergeInput, runMerge } from '../../../core/merge';
import { buildAccountReport } from '../../../core/sample-org';
import type { PrivilegeGrants } from '../../../core/scp';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountReport, OrgMetadata } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const MEMBER = '222222222222';
const MANAGEMENT = '111111111111';
const FULL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const DENY_S3 = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: '*' }],
});

function metadata(): OrgMetadata {
  const account = (id: string, ouIdPath: string[]) => ({
    id,
    name: id,
    email: `${id}@example.com`,
    state: 'ACTIVE',
    ouPath: 'Root',
    ouIdPath,
    tags: {},
  });
  const at = (policyIds: string[]) => ({ policyIds, fetchedAt: NOW.toISOString() });
  return {
    managementAccountId: MANAGEMENT,
    fetchedAt: NOW.toISOString(),
    accounts: [account(MANAGEMENT, ['r-ab12']), account(MEMBER, ['r-ab12', 'ou-ab12-prod0001'])],
    controlPolicies: {
      scp: {
        status: 'enabled',
        attachments: {
          'r-ab12': at(['p-FullAWSAccess']),
          'ou-ab12-prod0001': at(['p-FullAWSAccess', 'p-abc123']),
          [MEMBER]: at(['p-FullAWSAccess']),
          [MANAGEMENT]: at(['p-FullAWSAccess', 'p-abc123']),
        },
      },
      rcp: { status: 'not-enabled', attachments: {} },
      policies: {
        'p-FullAWSAccess': {
          name: 'FullAWSAccess',
          type: 'SERVICE_CONTROL_POLICY',
          content: FULL,
          fetchedAt: 'x',
        },
        'p-abc123': { name: 'DenyS3', type: 'SERVICE_CONTROL_POLICY', content: DENY_S3, fetchedAt: 'x' },
      },
    },
  };
}

function reportOf(accountId: string): AccountReport {
  return buildAccountReport({
    accountId,
    generatedMs: NOW.getTime() - 3_600_000,
    root: { createdDaysAgo: 1000, mfa: true },
    users: [
      {
        name: 'reader',
        createdDaysAgo: 100,
        mfa: false,
        keys: [{ active: true, createdDaysAgo: 10, lastUsedDaysAgo: 1 }],
        privileges: {
          admin: false,
          s3Read: true,
          rdsRead: false,
          dynamodbRead: false,
          grantingPolicies: { s3Read: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'] },
        },
      },
    ],
  });
}

const grants: ReadonlyMap<string, PrivilegeGrants> = new Map([
  ['reader', { s3Read: [{ path: 'AmazonS3ReadOnlyAccess', actions: ['s3:GetObject'] }] }],
]);

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>) {
  const cr = new PassThrough();
  const ak = new PassThrough();
  const texts = ['', ''];
  cr.on('data', (c: Buffer) => (texts[0] += c.toString('utf8')));
  ak.on('data', (c: Buffer) => (texts[1] += c.toString('utf8')));
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, metadata: metadata(), ...input },
    { credentialReport: cr, accessKeys: ak },
  );
  return {
    result,
    users: parse(texts[0] as string, { columns: true }) as Record<string, string>[],
    keys: parse(texts[1] as string, { columns: true }) as Record<string, string>[],
  };
}

describe('runMerge with SCPs', () => {
  it("reads the grants of a v2 report's own users with grantsOfReport, and leaves a report without grants as it is", async () => {
    const v1 = reportOf(MEMBER);
    const v2: AccountReport = {
      ...v1,
      schemaVersion: 2,
      privileges: v1.privileges?.map((p) => ({ ...p, grants: grants.get(p.userName) ?? {} })),
    };
    const cleared = await merge({ reports: [v2], grantsOf: grantsOfReport });
    expect(cleared.keys[0]).toMatchObject({
      s3_read: 'false',
      data_read_path: 's3: blocked by SCP p-abc123 DenyS3',
      granting_policies: '',
    });
    const kept = await merge({ reports: [v1], grantsOf: grantsOfReport });
    expect(kept.keys[0]).toMatchObject({ s3_read: 'true' });
    expect(kept.result.summary.controlPolicies?.flagsCleared.s3Read).toBe(0);
  });

  it('clears a data-read flag the account SCPs deny and names the SCP in data_read_path', async () => {
    const out = await merge({ reports: [reportOf(MEMBER)], grantsOf: () => grants });
    const reader = out.users.find((u) => u.user === 'reader');
    expect(reader).toMatchObject({
      s3_read: 'false',
      admin_path: '',
      data_read_path: 's3: blocked by SCP p-abc123 DenyS3',
      findings: '',
    });
    expect(out.keys[0]).toMatchObject({
      s3_read: 'false',
      data_read_path: 's3: blocked by SCP p-abc123 DenyS3',
      granting_policies: '',
    });
    expect(out.result.summary.controlPolicies).toEqual({
      accountsKnown: 1,
      accountsUnknown: 0,
      accountsExempt: 0,
      flagsCleared: { admin: 0, s3Read: 1, rdsRead: 0, dynamodbRead: 0 },
    });
    expect(out.result.text).toContain(
      'SCPs known for 1 account, unknown for 0, 0 exempt (management); 1 privilege flag cleared by SCPs or RCPs.',
    );
    expect(out.result.html).toContain('1 privilege flag cleared by SCPs or RCPs');
  });

  it('never clears the management account, whatever is attached to it', async () => {
    const out = await merge({ reports: [reportOf(MANAGEMENT)], grantsOf: () => grants });
    expect(out.users.find((u) => u.user === 'reader')).toMatchObject({
      s3_read: 'true',
      data_read_path: 's3: AmazonS3ReadOnlyAccess',
      findings: 'data-read-key',
    });
    expect(out.result.summary.controlPolicies).toMatchObject({ accountsExempt: 1, accountsKnown: 0 });
  });

  it('leaves reports without grants (v1) as the agent reported them, and counts the chain all the same', async () => {
    const out = await merge({ reports: [reportOf(MEMBER)] });
    expect(out.users.find((u) => u.user === 'reader')).toMatchObject({
      s3_read: 'true',
      data_read_path: 's3: AmazonS3ReadOnlyAccess (v1 report: no path)',
      findings: 'data-read-key',
    });
    expect(out.keys[0]?.granting_policies).toBe('s3Read:arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess');
    expect(out.result.summary.controlPolicies).toMatchObject({
      accountsKnown: 1,
      flagsCleared: { admin: 0, s3Read: 0, rdsRead: 0, dynamodbRead: 0 },
    });
  });

  it('counts accounts unknown and clears nothing when the metadata has no SCP data', async () => {
    const { controlPolicies: _drop, ...withoutScps } = metadata();
    void _drop;
    const out = await merge({ metadata: withoutScps, reports: [reportOf(MEMBER)], grantsOf: () => grants });
    expect(out.users.find((u) => u.user === 'reader')?.s3_read).toBe('true');
    expect(out.result.summary.controlPolicies).toMatchObject({ accountsKnown: 0, accountsUnknown: 1 });
  });

  it('shows the shortest grant the SCPs still allow, in both CSVs, findings.csv and the riskiest keys', async () => {
    const byRole: ReadonlyMap<string, PrivilegeGrants> = new Map([
      [
        'reader',
        {
          s3Read: [
            { path: 'AmazonS3ReadOnlyAccess', actions: ['s3:GetObject'] },
            {
              path: 'sts:AssumeRole role/archive → ReadArchive',
              actions: ['sts:AssumeRole', 'dynamodb:GetItem'],
            },
          ],
        },
      ],
    ]);
    const findings = new PassThrough();
    let text = '';
    findings.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const cr = new PassThrough();
    const ak = new PassThrough();
    const csv = ['', ''];
    cr.on('data', (c: Buffer) => (csv[0] += c.toString('utf8')));
    ak.on('data', (c: Buffer) => (csv[1] += c.toString('utf8')));
    const result = await runMerge(
      {
        now: NOW,
        thresholds: DEFAULT_THRESHOLDS,
        metadata: metadata(),
        reports: [reportOf(MEMBER)],
        grantsOf: () => byRole,
      },
      { credentialReport: cr, accessKeys: ak, findings },
    );
    const path = 's3: sts:AssumeRole role/archive → ReadArchive';
    const users = parse(csv[0] as string, { columns: true }) as Record<string, string>[];
    const keys = parse(csv[1] as string, { columns: true }) as Record<string, string>[];
    expect(users.find((u) => u.user === 'reader')).toMatchObject({ s3_read: 'true', data_read_path: path });
    expect(keys[0]).toMatchObject({ s3_read: 'true', data_read_path: path });
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.finding_id === 'data-read-key')?.path).toBe(path);
    expect(result.summary.riskiestKeys.find((k) => k.userName === 'reader')).toMatchObject({
      dataReadPath: path,
    });
    expect(result.text).toContain(path);
    expect(result.html).toContain('s3: sts:AssumeRole role/archive → ReadArchive');
  });
});
