import 'aws-sdk-client-mock-jest';
import { IAMClient, ListOrganizationsFeaturesCommand } from '@aws-sdk/client-iam';
import {
  AccessDeniedException,
  ListAWSServiceAccessForOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { fetchOrgMetadata } from '../../../collector/org-metadata';
import type { OrgCallContext } from '../../../collector/org-calls';
import { fetchRootAccess } from '../../../collector/root-access';
import type { OrgRootAccess } from '../../../core/types';
import {
  FakeOrganization,
  wireFakeOrganization,
  wireFakeRootAccess,
} from '../aggregator/support/fake-organizations';

const orgMock = mockClient(OrganizationsClient);
const iamMock = mockClient(IAMClient);
const organizations = new OrganizationsClient({ region: 'us-east-1' });
const iam = new IAMClient({ region: 'us-east-1' });
const NOW = new Date('2026-11-21T06:00:00Z');
const noSleep = async (): Promise<void> => undefined;

function ctx(): OrgCallContext {
  return { client: organizations, calls: {}, retries: 2, sleep: noSleep };
}

function iamError(name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 400 } });
}

beforeEach(() => {
  orgMock.reset();
  iamMock.reset();
  orgMock.on(ListAWSServiceAccessForOrganizationCommand).resolves({
    EnabledServicePrincipals: [
      { ServicePrincipal: 'iam.amazonaws.com' },
      { ServicePrincipal: 'sso.amazonaws.com' },
    ],
  });
});

describe('fetchRootAccess', () => {
  it('reads the enabled features and IAM trusted access when both answer', async () => {
    iamMock.on(ListOrganizationsFeaturesCommand).resolves({
      OrganizationId: 'o-abcdefghij',
      EnabledFeatures: ['RootCredentialsManagement', 'RootSessions'],
    });
    const { rootAccess, warnings } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess).toEqual({
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement', 'RootSessions'],
      iamTrustedAccess: true,
      fetchedAt: NOW.toISOString(),
    });
    expect(warnings).toEqual([]);
  });

  it('keeps only the features it knows (a hostile or newer answer cannot widen the cache schema)', async () => {
    iamMock.on(ListOrganizationsFeaturesCommand).resolves({
      EnabledFeatures: ['RootSessions', 'SomethingNew' as 'RootSessions'],
    });
    const { rootAccess } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess.enabledFeatures).toEqual(['RootSessions']);
  });

  it('pages through trusted services and reports IAM without trusted access as false', async () => {
    orgMock
      .on(ListAWSServiceAccessForOrganizationCommand)
      .resolvesOnce({
        EnabledServicePrincipals: [{ ServicePrincipal: 'sso.amazonaws.com' }],
        NextToken: 't1',
      })
      .resolvesOnce({ EnabledServicePrincipals: [{ ServicePrincipal: 'config.amazonaws.com' }] });
    iamMock.on(ListOrganizationsFeaturesCommand).resolves({ EnabledFeatures: [] });
    const c = ctx();
    const { rootAccess } = await fetchRootAccess({ ctx: c, iam, now: NOW });
    expect(rootAccess).toMatchObject({ status: 'read', enabledFeatures: [], iamTrustedAccess: false });
    expect(orgMock).toHaveReceivedCommandTimes(ListAWSServiceAccessForOrganizationCommand, 2);
    expect(orgMock.commandCalls(ListAWSServiceAccessForOrganizationCommand)[1]?.args[0].input).toMatchObject({
      NextToken: 't1',
    });
    expect(c.calls).toEqual({ ListAWSServiceAccessForOrganization: 2 });
  });

  it('reads "none can be enabled" when IAM has no trusted access (ServiceAccessNotEnabled)', async () => {
    iamMock.on(ListOrganizationsFeaturesCommand).rejects(iamError('ServiceAccessNotEnabledException'));
    const { rootAccess } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess).toEqual({
      status: 'read',
      enabledFeatures: [],
      iamTrustedAccess: false,
      detail: 'IAM has no trusted access in AWS Organizations',
      fetchedAt: NOW.toISOString(),
    });
  });

  it('reads "none can be enabled" when the organization lacks all features', async () => {
    iamMock
      .on(ListOrganizationsFeaturesCommand)
      .rejects(iamError('OrganizationNotInAllFeaturesModeException'));
    const { rootAccess } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess).toMatchObject({
      status: 'read',
      enabledFeatures: [],
      detail: 'the organization does not have all features enabled',
    });
  });

  it('is unreadable, naming why, from an account that is neither the management account nor IAM delegated administrator', async () => {
    iamMock
      .on(ListOrganizationsFeaturesCommand)
      .rejects(iamError('AccountNotManagementOrDelegatedAdministratorException'));
    const { rootAccess, warnings } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess.status).toBe('unreadable');
    expect(rootAccess.detail).toMatch(/^not the management account nor IAM's delegated administrator/);
    expect(rootAccess.iamTrustedAccess).toBe(true);
    expect(warnings).toEqual([
      expect.stringMatching(/^Centralized root access not readable from this account/),
    ]);
  });

  it('is unreadable on AccessDenied even with a good cached answer (a permission gap is not a pass)', async () => {
    iamMock
      .on(ListOrganizationsFeaturesCommand)
      .rejects(Object.assign(iamError('AccessDenied'), { $metadata: { httpStatusCode: 403 } }));
    const cached: OrgRootAccess = {
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement'],
      fetchedAt: '2026-11-20T06:00:00.000Z',
    };
    const { rootAccess } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW, cached });
    expect(rootAccess).toMatchObject({
      status: 'unreadable',
      detail: 'AccessDenied: the role lacks iam:ListOrganizationsFeatures',
    });
  });

  it('keeps the cached answer, with a warning, when the request fails for another reason', async () => {
    iamMock.on(ListOrganizationsFeaturesCommand).rejects(iamError('ServiceFailureException'));
    const cached: OrgRootAccess = {
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement'],
      fetchedAt: '2026-11-20T06:00:00.000Z',
    };
    const { rootAccess, warnings } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW, cached });
    expect(rootAccess).toBe(cached);
    expect(warnings).toEqual([
      'Centralized root access not refreshed (ServiceFailureException); the answer of 2026-11-20T06:00:00.000Z is used',
    ]);
    const fresh = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(fresh.rootAccess).toMatchObject({
      status: 'unreadable',
      detail: 'ListOrganizationsFeatures failed (ServiceFailureException)',
    });
  });

  it('leaves trusted access unknown, with a warning, when Organizations refuses it', async () => {
    orgMock
      .on(ListAWSServiceAccessForOrganizationCommand)
      .rejects(new AccessDeniedException({ $metadata: { httpStatusCode: 400 }, message: 'denied' }));
    iamMock.on(ListOrganizationsFeaturesCommand).resolves({ EnabledFeatures: ['RootCredentialsManagement'] });
    const { rootAccess, warnings } = await fetchRootAccess({ ctx: ctx(), iam, now: NOW });
    expect(rootAccess).toEqual({
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement'],
      fetchedAt: NOW.toISOString(),
    });
    expect(warnings).toEqual([
      'Organizations trusted access could not be read (AccessDeniedException): the role lacks organizations:ListAWSServiceAccessForOrganization',
    ]);
  });
});

describe('fetchOrgMetadata with an IAM client', () => {
  function fake(): FakeOrganization {
    const joined = new Date('2024-05-01T00:00:00Z');
    return new FakeOrganization(
      'o-abcdefghij',
      '111111111111',
      'r-ab12',
      [],
      [
        {
          id: '111111111111',
          name: 'mgmt',
          email: 'm@example.com',
          state: 'ACTIVE',
          parentId: 'r-ab12',
          joined,
          tags: {},
        },
      ],
    );
  }

  it('caches root access in the metadata, and keeps the cached value when no IAM client is given', async () => {
    const org = fake();
    org.rootAccessFeatures = ['RootCredentialsManagement'];
    org.trustedServices.add('iam.amazonaws.com');
    orgMock.reset();
    wireFakeOrganization(orgMock, org);
    wireFakeRootAccess(iamMock, org);
    const { metadata } = await fetchOrgMetadata(organizations, { now: NOW, sleep: noSleep, iam });
    expect(metadata.rootAccess).toEqual({
      status: 'read',
      enabledFeatures: ['RootCredentialsManagement'],
      iamTrustedAccess: true,
      fetchedAt: NOW.toISOString(),
    });
    iamMock.resetHistory();
    const again = await fetchOrgMetadata(organizations, { now: NOW, sleep: noSleep, cached: metadata });
    expect(again.metadata.rootAccess).toEqual(metadata.rootAccess);
    expect(iamMock).not.toHaveReceivedCommand(ListOrganizationsFeaturesCommand);
  });
});
