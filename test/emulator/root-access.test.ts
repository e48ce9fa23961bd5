/**
 * Centralized root access end to end against moto: the real member agents and the real digest read IAM
 * "root access management" (ListOrganizationsFeatures, which moto 5.2.1 lacks: the proxy answers it,
 * proxy.ts `RootAccessBridge`) and Organizations' ListAWSServiceAccessForOrganization (moto's own answer,
 * with IAM's trusted access added by the proxy), and each account's root user (moto has none: the proxy
 * splices a `<root_account>` row and makes GetAccountSummary agree, proxy.ts `BridgedRootUser`).
 *
 * The organization: the management account (root with a password and MFA), one member whose root still
 * holds a password and an access key, one member whose root credentials were deleted centrally.
 */
import {
  DisableOrganizationsRootCredentialsManagementCommand,
  EnableOrganizationsRootCredentialsManagementCommand,
  EnableOrganizationsRootSessionsCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { EnableAWSServiceAccessCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { DigestResult } from '../../aggregator/digest';
import { S3_LAYOUT } from '../../core/names';
import type { Summary } from '../../core/summary';
import {
  Csv,
  DigestOutputs,
  Emulator,
  Hub,
  deployHub,
  parseCsv,
  pushAllMembers,
  readLatestOutputs,
  readText,
  runDigestHandler,
  startEmulator,
} from './harness';
import { splitFindings } from './expectations';
import { SeededAccount, SeededOrg, rootUser, seedOrganization, smallOrgSpec } from './scenario';

jest.setTimeout(240_000);

let emulator: Emulator;
let org: SeededOrg;
let hub: Hub;
let management: SeededAccount;
/** A member whose root still holds a password (no MFA) and an active access key. */
let held: SeededAccount;
/** A member whose root credentials were deleted centrally: no password, no keys, no MFA. */
let removed: SeededAccount;

interface Run {
  readonly digest: DigestResult;
  readonly outputs: DigestOutputs;
  readonly summary: Summary;
  readonly findings: Csv;
}
let enabled: Run;

/** The digest in the hub (management) account, numbering CIS v7.0.0, and what it wrote. */
async function digestRun(): Promise<Run> {
  const digest = await runDigestHandler(hub, { env: { CIS_VERSION: 'v7.0.0' } });
  const outputs = await readLatestOutputs(hub);
  const findings = parseCsv(
    await readText(hub.bucket, `${S3_LAYOUT.latestPrefix}${S3_LAYOUT.outputFiles.findings}`),
  );
  return { digest, outputs, summary: outputs.summary as unknown as Summary, findings };
}

const rootRowOf = (run: Run, account: SeededAccount) =>
  run.outputs.credentialReport.rows.find((r) => r.account_id === account.id && r.user === '<root_account>');

beforeAll(async () => {
  emulator = await startEmulator();
  org = await seedOrganization(smallOrgSpec(2));
  management = org.account(org.accounts[0]!.key);
  held = org.account('acct-1');
  removed = org.account('acct-2');
  emulator.proxy.setRootUser(
    management.id,
    rootUser(management.id, { password: true, accessKey: false, mfa: true }),
  );
  emulator.proxy.setRootUser(held.id, rootUser(held.id, { password: true, accessKey: true, mfa: false }));
  emulator.proxy.setRootUser(
    removed.id,
    rootUser(removed.id, { password: false, accessKey: false, mfa: false }),
  );
  // What an operator does in the management account (IAM console, "Root access management"): IAM's
  // trusted access in Organizations, then both features.
  await new OrganizationsClient({}).send(
    new EnableAWSServiceAccessCommand({ ServicePrincipal: 'iam.amazonaws.com' }),
  );
  const iam = new IAMClient({});
  await iam.send(new EnableOrganizationsRootCredentialsManagementCommand({}));
  await iam.send(new EnableOrganizationsRootSessionsCommand({}));
  hub = await deployHub(emulator, org);
  await pushAllMembers(emulator, hub);
  emulator.proxy.clear();
  enabled = await digestRun();
}, 240_000);

afterAll(async () => {
  await emulator?.stop();
});

describe('centralized root access (emulator)', () => {
  it('reads the features through IAM and trusted access through Organizations from the hub account', () => {
    const features = emulator.proxy.callsTo('iam', 'ListOrganizationsFeatures');
    expect(features.map((c) => [c.accountId, c.status, c.bridged])).toEqual([
      [management.id, 200, 'root-access-management'],
    ]);
    const trusted = emulator.proxy.callsTo('organizations', 'ListAWSServiceAccessForOrganization');
    expect(trusted.length).toBeGreaterThanOrEqual(1);
    expect(trusted.every((c) => c.status === 200 && c.bridged === undefined)).toBe(true);
    expect(enabled.summary.organization?.rootAccess).toMatchObject({
      state: 'centralized',
      rootCredentialsManagement: true,
      rootSessions: true,
      iamTrustedAccess: true,
    });
  });

  it('raises member-root-credentials-present for the member still holding root credentials only, and no root-access-not-centralized', () => {
    const organization = enabled.summary.organization;
    expect(organization?.findings).toEqual([
      {
        id: 'member-root-credentials-present',
        severity: 'high',
        resource: held.id,
        accountId: held.id,
        detail: expect.stringContaining('root password, access key present') as unknown as string,
      },
    ]);
    expect(organization?.members).toEqual({ withRootCredentials: 1, withoutRootCredentials: 1, unknown: 0 });
    const orgRows = enabled.findings.rows.filter((r) =>
      ['root-access-not-centralized', 'member-root-credentials-present'].includes(r.finding_id ?? ''),
    );
    expect(orgRows.map((r) => [r.finding_id, r.account_id])).toEqual([
      ['member-root-credentials-present', held.id],
    ]);
    expect(enabled.summary.compliance.find((c) => c.cis === '2.1.1')).toMatchObject({
      scope: 'organization',
      organization: 'pass',
    });
  });

  it('keeps the normal root checks for the member and the management account, and no false root MFA finding', () => {
    expect(splitFindings(rootRowOf(enabled, held)?.findings)).toEqual(
      expect.arrayContaining(['root-access-key', 'root-mfa-disabled']),
    );
    const gone = rootRowOf(enabled, removed);
    expect(gone?.root_credentials).toBe('no root credentials');
    expect(splitFindings(gone?.findings)).not.toContain('root-mfa-disabled');
    // The management root (password, MFA) is never a member: no organization finding, no root MFA finding.
    expect(splitFindings(rootRowOf(enabled, management)?.findings)).not.toContain('root-mfa-disabled');
    const root = (account: SeededAccount) =>
      enabled.summary.byAccount.find((a) => a.accountId === account.id)?.root;
    expect(root(held)).toMatchObject({
      credentials: 'present',
      password: true,
      accessKeys: true,
      mfa: false,
    });
    expect(root(removed)).toMatchObject({ credentials: 'none', password: false, accessKeys: false });
    expect(root(management)).toMatchObject({ credentials: 'present', password: true, mfa: true });
  });

  it('shows the organization line in the digest and counts root credentials by the same rule', () => {
    expect(enabled.outputs.html).toContain(
      'Root access: centrally managed · 1 member account still holds root credentials',
    );
    // Management and the held member present, the removed member none: the coverage line agrees.
    expect(enabled.summary.accountFacts.rootCredentials).toEqual({ present: 2, none: 1, unknown: 0 });
    expect(enabled.outputs.html).toContain(
      'Root credentials (a password, an access key or a signing certificate) present in 2 accounts, none in 1, unknown in 0',
    );
  });

  it('raises root-access-not-centralized for the organization, and no member finding, once it is disabled', async () => {
    await new IAMClient({}).send(new DisableOrganizationsRootCredentialsManagementCommand({}));
    const disabled = await digestRun();
    expect(disabled.summary.organization?.rootAccess).toMatchObject({
      state: 'not-centralized',
      rootCredentialsManagement: false,
      iamTrustedAccess: true,
    });
    expect(disabled.summary.organization?.findings).toEqual([
      expect.objectContaining({
        id: 'root-access-not-centralized',
        severity: 'high',
        resource: org.organizationId,
        accountId: management.id,
      }),
    ]);
    const orgRows = disabled.findings.rows.filter((r) =>
      ['root-access-not-centralized', 'member-root-credentials-present'].includes(r.finding_id ?? ''),
    );
    expect(orgRows.map((r) => [r.finding_id, r.cis_v7])).toEqual([['root-access-not-centralized', '2.1.1']]);
    expect(disabled.summary.compliance.find((c) => c.cis === '2.1.1')).toMatchObject({
      organization: 'fail',
    });
    expect(disabled.outputs.html).toContain('Root access: not centrally managed (CIS v7.0.0 2.1.1)');
    // The member's root still holds its key and password: the account's own root findings remain.
    expect(splitFindings(rootRowOf(disabled, held)?.findings)).toEqual(
      expect.arrayContaining(['root-access-key', 'root-mfa-disabled']),
    );
  });
});
