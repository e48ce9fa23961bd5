import { ROOT_USER } from '../../../core/columns';
import type { CredentialReportRow } from '../../../core/columns';
import {
  type AccountRoot,
  organizationFindings,
  rootAccessLine,
  rootCredentialsOf,
  rootCredentialsOfRow,
  rootHoldings,
  type RootCredentials,
} from '../../../core/org-findings';
import type { AccountMetadata, OrgMetadata, OrgRootAccess } from '../../../core/types';

const MANAGEMENT = '111111111111';
const MEMBER_A = '222222222222';
const MEMBER_B = '333333333333';
const MEMBER_C = '444444444444';
const OUTSIDER = '999999999999';
const FETCHED = '2024-06-01T05:00:00.000Z';

type Row = Record<keyof CredentialReportRow, string>;

/** The root row as IAM writes it: password columns not_supported, no key, no certificate. */
function rootRow(over: Partial<Row> = {}): CredentialReportRow {
  return {
    user: ROOT_USER,
    arn: `arn:aws:iam::${MEMBER_A}:root`,
    user_creation_time: '2020-01-01T00:00:00+00:00',
    password_enabled: 'not_supported',
    password_last_used: 'no_information',
    password_last_changed: 'not_supported',
    password_next_rotation: 'not_supported',
    mfa_active: 'false',
    access_key_1_active: 'false',
    access_key_1_last_rotated: 'N/A',
    access_key_1_last_used_date: 'N/A',
    access_key_1_last_used_region: 'N/A',
    access_key_1_last_used_service: 'N/A',
    access_key_2_active: 'false',
    access_key_2_last_rotated: 'N/A',
    access_key_2_last_used_date: 'N/A',
    access_key_2_last_used_region: 'N/A',
    access_key_2_last_used_service: 'N/A',
    cert_1_active: 'false',
    cert_1_last_rotated: 'N/A',
    cert_2_active: 'false',
    cert_2_last_rotated: 'N/A',
    ...over,
  };
}

function account(id: string): AccountMetadata {
  return {
    id,
    name: `acct-${id.slice(-2)}`,
    email: `${id}@example.com`,
    state: 'ACTIVE',
    ouPath: 'Root',
    ouIdPath: ['r-ab12'],
    tags: {},
  };
}

function metadata(rootAccess?: OrgRootAccess, over: Partial<OrgMetadata> = {}): OrgMetadata {
  return {
    organizationId: 'o-abc1234567',
    managementAccountId: MANAGEMENT,
    fetchedAt: FETCHED,
    accounts: [MANAGEMENT, MEMBER_A, MEMBER_B, MEMBER_C].map(account),
    ...(rootAccess ? { rootAccess } : {}),
    ...over,
  };
}

const ON: OrgRootAccess = {
  status: 'read',
  enabledFeatures: ['RootCredentialsManagement', 'RootSessions'],
  iamTrustedAccess: true,
  fetchedAt: FETCHED,
};
const HELD: RootCredentials = { present: true, kinds: ['password'] };
const NONE: RootCredentials = { present: false, kinds: [] };
const UNKNOWN: RootCredentials = { present: undefined, kinds: [] };
const root = (accountId: string, credentials: RootCredentials): AccountRoot => ({ accountId, credentials });

describe('rootCredentialsOfRow', () => {
  it('takes each kind GetAccountSummary states over the row: no password, no keys, no certificates is no root credentials', () => {
    const none = { passwordPresent: false, accessKeysPresent: false, signingCertificatesPresent: false };
    expect(rootCredentialsOfRow(rootRow(), none)).toEqual({ present: false, kinds: [] });
    expect(rootCredentialsOfRow(rootRow(), { ...none, passwordPresent: true })).toEqual({
      present: true,
      kinds: ['password'],
    });
  });

  it('falls back to the row for a kind the facts do not state (moto omits AccountPasswordPresent)', () => {
    const partial = { accessKeysPresent: false, signingCertificatesPresent: false };
    expect(rootCredentialsOfRow(rootRow(), partial)).toEqual({ present: undefined, kinds: [] });
    expect(rootCredentialsOfRow(rootRow({ password_enabled: 'false' }), partial)).toEqual({
      present: false,
      kinds: [],
    });
    expect(rootCredentialsOfRow(rootRow({ cert_1_active: 'true' }), { passwordPresent: false })).toEqual({
      present: true,
      kinds: ['signing certificate'],
    });
  });

  it('leaves the root password unknown when the row has no key or certificate (IAM writes not_supported)', () => {
    expect(rootCredentialsOfRow(rootRow())).toEqual({ present: undefined, kinds: [] });
  });

  it('says no root credentials when password_enabled is false and there is no key or certificate', () => {
    expect(rootCredentialsOfRow(rootRow({ password_enabled: 'false' }))).toEqual({
      present: false,
      kinds: [],
    });
  });

  it('names each kind the root still holds: password, access key (either slot), signing certificate (either slot)', () => {
    expect(rootCredentialsOfRow(rootRow({ password_enabled: 'true' }))).toEqual({
      present: true,
      kinds: ['password'],
    });
    expect(rootCredentialsOfRow(rootRow({ access_key_2_active: 'true' }))).toEqual({
      present: true,
      kinds: ['access key'],
    });
    expect(rootCredentialsOfRow(rootRow({ cert_2_active: 'TRUE' }))).toEqual({
      present: true,
      kinds: ['signing certificate'],
    });
    expect(
      rootCredentialsOfRow(
        rootRow({ access_key_1_active: 'true', cert_1_active: 'true', password_enabled: 'true' }),
      ),
    ).toEqual({ present: true, kinds: ['password', 'access key', 'signing certificate'] });
  });

  it('does not count an inactive key or certificate', () => {
    expect(
      rootCredentialsOfRow(
        rootRow({
          password_enabled: 'false',
          access_key_1_last_rotated: '2020-01-01T00:00:00+00:00',
          cert_1_last_rotated: '2020-01-01T00:00:00+00:00',
        }),
      ).present,
    ).toBe(false);
  });
});

describe('rootHoldings', () => {
  it('reads each kind and MFA from the facts, else the root row (mfa_active, an active key or certificate)', () => {
    expect(rootHoldings(rootRow({ access_key_2_active: 'true', mfa_active: 'true' }))).toEqual({
      accessKeys: true,
      signingCertificates: false,
      mfa: true,
    });
    expect(
      rootHoldings(rootRow({ mfa_active: 'true' }), {
        mfaEnabled: false,
        passwordPresent: true,
        accessKeysPresent: false,
      }),
    ).toEqual({ password: true, accessKeys: false, signingCertificates: false, mfa: false });
  });

  it('leaves every kind the facts do not state unknown when the report has no root row', () => {
    // moto: no root row, GetAccountSummary without AccountPasswordPresent.
    const moto = { mfaEnabled: false, accessKeysPresent: false, signingCertificatesPresent: false };
    expect(rootHoldings(undefined, moto)).toEqual({
      accessKeys: false,
      signingCertificates: false,
      mfa: false,
    });
    expect(rootCredentialsOf(rootHoldings(undefined, moto))).toEqual({ present: undefined, kinds: [] });
    expect(rootHoldings(undefined)).toEqual({});
    expect(rootCredentialsOf(rootHoldings(undefined, { accessKeysPresent: true }))).toEqual({
      present: true,
      kinds: ['access key'],
    });
    expect(rootCredentialsOf(rootHoldings(undefined, { ...moto, passwordPresent: false }))).toEqual({
      present: false,
      kinds: [],
    });
  });
});

describe('organizationFindings', () => {
  it('raises root-access-not-centralized (high, on the organization) when RootCredentialsManagement is not enabled', () => {
    const org = organizationFindings(
      metadata({
        status: 'read',
        enabledFeatures: ['RootSessions'],
        iamTrustedAccess: true,
        fetchedAt: FETCHED,
      }),
      [root(MEMBER_A, HELD)],
    );
    expect(org.rootAccess).toMatchObject({
      state: 'not-centralized',
      rootCredentialsManagement: false,
      rootSessions: true,
    });
    expect(org.findings).toEqual([
      {
        id: 'root-access-not-centralized',
        severity: 'high',
        resource: 'o-abc1234567',
        accountId: MANAGEMENT,
        detail: 'RootCredentialsManagement not enabled; IAM trusted access in Organizations enabled',
      },
    ]);
    expect(org.openFindings).toEqual({ critical: 0, high: 1, medium: 0, low: 0 });
    expect(org.members).toEqual({ withRootCredentials: 0, withoutRootCredentials: 0, unknown: 0 });
  });

  it('says why when no feature can be enabled (IAM without trusted access)', () => {
    const org = organizationFindings(
      metadata({
        status: 'read',
        enabledFeatures: [],
        iamTrustedAccess: false,
        detail: 'IAM has no trusted access in AWS Organizations',
        fetchedAt: FETCHED,
      }),
      [],
    );
    expect(org.findings.map((f) => f.detail)).toEqual([
      'RootCredentialsManagement not enabled; IAM trusted access in Organizations not enabled (IAM has no trusted access in AWS Organizations)',
    ]);
  });

  it('raises member-root-credentials-present per member whose root holds credentials when centralized, never for the management account', () => {
    const org = organizationFindings(metadata(ON), [
      root(MEMBER_B, { present: true, kinds: ['access key', 'signing certificate'] }),
      root(MANAGEMENT, HELD),
      root(MEMBER_A, HELD),
      root(MEMBER_C, NONE),
    ]);
    expect(org.rootAccess).toMatchObject({
      state: 'centralized',
      rootCredentialsManagement: true,
      rootSessions: true,
      iamTrustedAccess: true,
    });
    expect(org.findings.map((f) => [f.id, f.resource, f.accountId])).toEqual([
      ['member-root-credentials-present', MEMBER_A, MEMBER_A],
      ['member-root-credentials-present', MEMBER_B, MEMBER_B],
    ]);
    expect(org.findings[1]?.detail).toBe(
      'root access key, signing certificate present; delete them from the management account with sts:AssumeRoot (task policy IAMDeleteRootUserCredentials)',
    );
    expect(org.members).toEqual({ withRootCredentials: 2, withoutRootCredentials: 1, unknown: 0 });
    expect(org.openFindings.high).toBe(2);
  });

  it('counts a member whose root password is unknown as unknown, not as a pass', () => {
    const org = organizationFindings(metadata(ON), [root(MEMBER_A, UNKNOWN), root(MEMBER_B, NONE)]);
    expect(org.findings).toEqual([]);
    expect(org.members).toEqual({ withRootCredentials: 0, withoutRootCredentials: 1, unknown: 1 });
  });

  it('judges no account outside the organization, and no member at all without the management account id', () => {
    expect(organizationFindings(metadata(ON), [root(OUTSIDER, HELD)]).findings).toEqual([]);
    const withoutManagement: OrgMetadata = { ...metadata(ON) };
    delete (withoutManagement as { managementAccountId?: string }).managementAccountId;
    const org = organizationFindings(withoutManagement, [root(MEMBER_A, HELD)]);
    expect(org.findings).toEqual([]);
    expect(org.members).toEqual({ withRootCredentials: 0, withoutRootCredentials: 0, unknown: 0 });
  });

  it('raises nothing and says unreadable when this account could not read root access', () => {
    const org = organizationFindings(
      metadata({ status: 'unreadable', detail: 'not the management account', fetchedAt: FETCHED }),
      [root(MEMBER_A, HELD)],
    );
    expect(org.rootAccess).toEqual({
      state: 'unreadable',
      detail: 'not the management account',
      fetchedAt: FETCHED,
    });
    expect(org.findings).toEqual([]);
    expect(org.openFindings).toEqual({ critical: 0, high: 0, medium: 0, low: 0 });
  });

  it('says not-read without metadata or without a rootAccess answer', () => {
    expect(organizationFindings(undefined, [root(MEMBER_A, HELD)]).rootAccess).toEqual({ state: 'not-read' });
    expect(organizationFindings(metadata(), [root(MEMBER_A, HELD)])).toMatchObject({
      organizationId: 'o-abc1234567',
      rootAccess: { state: 'not-read' },
      findings: [],
    });
  });
});

describe('rootAccessLine', () => {
  it('reads as the headline asks for each state', () => {
    expect(
      rootAccessLine(
        organizationFindings(metadata(ON), [
          root(MEMBER_A, HELD),
          root(MEMBER_B, HELD),
          root(MEMBER_C, HELD),
        ]),
      ),
    ).toBe('Root access: centrally managed · 3 member accounts still hold root credentials');
    expect(rootAccessLine(organizationFindings(metadata(ON), [root(MEMBER_A, HELD)]))).toBe(
      'Root access: centrally managed · 1 member account still holds root credentials',
    );
    expect(rootAccessLine(organizationFindings(metadata(ON), [root(MEMBER_A, NONE)]))).toBe(
      'Root access: centrally managed · no member account holds root credentials',
    );
    expect(
      rootAccessLine(organizationFindings(metadata(ON), [root(MEMBER_A, NONE), root(MEMBER_B, UNKNOWN)])),
    ).toBe(
      'Root access: centrally managed · no member account known to hold root credentials · 1 member account whose root password is not known',
    );
    expect(
      rootAccessLine(
        organizationFindings(metadata({ status: 'read', enabledFeatures: [], fetchedAt: FETCHED }), []),
      ),
    ).toBe('Root access: not centrally managed (CIS v7.0.0 2.1.1) · enable centralized root access');
    expect(
      rootAccessLine(
        organizationFindings(
          metadata({ status: 'unreadable', detail: 'AccessDenied', fetchedAt: FETCHED }),
          [],
        ),
      ),
    ).toBe('Root access: not readable from this account (AccessDenied)');
    expect(rootAccessLine(organizationFindings(metadata(), []))).toBeUndefined();
    expect(rootAccessLine(undefined)).toBeUndefined();
  });
});
