import 'aws-sdk-client-mock-jest';
import {
  DescribePolicyCommand,
  ListPoliciesForTargetCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { fetchOrgMetadata } from '../../../collector/org-metadata';
import { ControlPolicyIndex } from '../../../core/scp';
import { FakeOrganization, wireFakeOrganization } from '../aggregator/support/fake-organizations';

const orgMock = mockClient(OrganizationsClient);
const client = new OrganizationsClient({ region: 'us-east-1' });
const NOW = new Date('2026-11-21T06:00:00Z');
const LATER = new Date('2026-11-21T12:00:00Z');
const noSleep = async (): Promise<void> => undefined;
const doc = (...statements: object[]): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** Root → Prod (one account); the management account under the root. */
function org(): FakeOrganization {
  const joined = new Date('2024-05-01T00:00:00Z');
  const account = (id: string, parentId: string) => ({
    id,
    name: id,
    email: `${id}@example.com`,
    state: 'ACTIVE' as const,
    parentId,
    joined,
    tags: {},
  });
  const fake = new FakeOrganization(
    'o-abcdefghij',
    '111111111111',
    'r-ab12',
    [{ id: 'ou-ab12-prod0001', name: 'Prod', parentId: 'r-ab12' }],
    [account('111111111111', 'r-ab12'), account('222222222222', 'ou-ab12-prod0001')],
  );
  fake.policies.set('p-abc123', {
    id: 'p-abc123',
    name: 'DenyS3',
    type: 'SERVICE_CONTROL_POLICY',
    content: doc({ Effect: 'Deny', Action: 's3:*', Resource: '*' }),
  });
  fake.attached.set('ou-ab12-prod0001', ['p-abc123']);
  return fake;
}

beforeEach(() => orgMock.reset());

describe('fetchOrgMetadata control policies', () => {
  it('reads the SCPs of the root, each OU and each account and describes each distinct policy once', async () => {
    const fake = org();
    wireFakeOrganization(orgMock, fake);
    const { metadata, warnings } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    expect(warnings).toEqual([]);
    const control = metadata.controlPolicies;
    expect(control?.scp.status).toBe('enabled');
    expect(control?.scp.attachments['ou-ab12-prod0001']?.policyIds).toEqual(['p-FullAWSAccess', 'p-abc123']);
    expect(control?.scp.attachments['222222222222']?.policyIds).toEqual(['p-FullAWSAccess']);
    expect(control?.rcp.status).toBe('not-enabled');
    expect(Object.keys(control?.policies ?? {}).sort()).toEqual(['p-FullAWSAccess', 'p-abc123']);
    expect(fake.calls.DescribePolicy).toBe(2);
    expect(orgMock).toHaveReceivedCommandWith(ListPoliciesForTargetCommand, {
      TargetId: '222222222222',
      Filter: 'SERVICE_CONTROL_POLICY',
    });
    expect(orgMock).not.toHaveReceivedCommandWith(ListPoliciesForTargetCommand, {
      Filter: 'RESOURCE_CONTROL_POLICY',
    });
    const chain = new ControlPolicyIndex(metadata).chainFor('222222222222');
    expect(chain.status === 'known' && chain.scp[1]?.policies.map((p) => p.name)).toEqual([
      'FullAWSAccess',
      'DenyS3',
    ]);
  });

  it('reads RCP attachments with the RESOURCE_CONTROL_POLICY filter when the root lists RCPs enabled', async () => {
    const fake = org();
    fake.enabledPolicyTypes.add('RESOURCE_CONTROL_POLICY');
    fake.policies.set('p-rcp1', {
      id: 'p-rcp1',
      name: 'DenyS3Reads',
      type: 'RESOURCE_CONTROL_POLICY',
      content: doc({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: '*' }),
    });
    fake.attached.set('r-ab12', ['p-rcp1']);
    wireFakeOrganization(orgMock, fake);
    const { metadata } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    expect(metadata.controlPolicies?.rcp.status).toBe('enabled');
    expect(metadata.controlPolicies?.rcp.attachments['r-ab12']?.policyIds).toEqual(['p-rcp1']);
    expect(metadata.controlPolicies?.policies['p-rcp1']?.type).toBe('RESOURCE_CONTROL_POLICY');
    expect(orgMock).toHaveReceivedCommandWith(ListPoliciesForTargetCommand, {
      TargetId: 'r-ab12',
      Filter: 'RESOURCE_CONTROL_POLICY',
    });
  });

  it('follows pagination of ListPoliciesForTarget', async () => {
    const fake = org();
    const many = Array.from({ length: 25 }, (_, i) => `p-many${String(i).padStart(4, '0')}`);
    for (const id of many) {
      fake.policies.set(id, {
        id,
        name: id,
        type: 'SERVICE_CONTROL_POLICY',
        content: doc({ Effect: 'Deny', Action: 'x:Y', Resource: '*' }),
      });
    }
    fake.attached.set('222222222222', many);
    wireFakeOrganization(orgMock, fake);
    const { metadata } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    expect(metadata.controlPolicies?.scp.attachments['222222222222']?.policyIds).toHaveLength(26);
  });

  it('marks SCPs not enabled with a warning and lists nothing when the root does not enable them', async () => {
    const fake = org();
    fake.enabledPolicyTypes.clear();
    wireFakeOrganization(orgMock, fake);
    const { metadata, warnings } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    expect(metadata.controlPolicies?.scp).toEqual({
      status: 'not-enabled',
      detail: 'SCPs are not enabled',
      attachments: {},
    });
    expect(warnings).toEqual(['SCPs are not enabled in the organization; no privilege is cleared by SCPs']);
    expect(fake.calls.ListPoliciesForTarget).toBeUndefined();
    expect(new ControlPolicyIndex(metadata).chainFor('222222222222').status).toBe('unknown');
  });

  it('turns AccessDenied into an unreadable type and a warning without failing the run', async () => {
    const fake = org();
    fake.deniedPolicies.add('*');
    wireFakeOrganization(orgMock, fake);
    const { metadata, warnings } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    expect(metadata.accounts).toHaveLength(2);
    expect(metadata.controlPolicies?.scp.status).toBe('unreadable');
    expect(warnings).toEqual(['ListPoliciesForTarget was denied for SCPs; no privilege is cleared by SCPs']);
    expect(fake.calls.ListPoliciesForTarget).toBe(1);
    expect(new ControlPolicyIndex(metadata).chainFor('222222222222')).toEqual({
      status: 'unknown',
      reason: 'ListPoliciesForTarget was denied for SCPs',
    });
  });

  it('on a warm cache relists the root and OUs but not fresh accounts, and re-describes only a renamed policy', async () => {
    const fake = org();
    wireFakeOrganization(orgMock, fake);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    orgMock.reset();
    const warm = org();
    const renamed = warm.policies.get('p-abc123');
    if (renamed) renamed.name = 'DenyS3Everywhere';
    wireFakeOrganization(orgMock, warm);
    const { metadata } = await fetchOrgMetadata(client, {
      now: LATER,
      sleep: noSleep,
      cached: first.metadata,
    });

    expect(warm.calls.ListPoliciesForTarget).toBe(2); // the root and the one OU
    expect(orgMock).toHaveReceivedCommandTimes(DescribePolicyCommand, 1);
    expect(orgMock).toHaveReceivedCommandWith(DescribePolicyCommand, { PolicyId: 'p-abc123' });
    expect(metadata.controlPolicies?.policies['p-abc123']?.name).toBe('DenyS3Everywhere');
    expect(metadata.controlPolicies?.scp.attachments['222222222222']?.fetchedAt).toBe(NOW.toISOString());
  });

  it('keeps cached attachments with a warning for accounts it cannot refresh within the budget', async () => {
    const fake = org();
    wireFakeOrganization(orgMock, fake);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    orgMock.reset();
    const again = org();
    again.attached.set('222222222222', ['p-abc123']);
    wireFakeOrganization(orgMock, again);
    let t = 0;
    const { metadata, warnings } = await fetchOrgMetadata(client, {
      now: new Date(NOW.getTime() + 25 * 3_600_000),
      sleep: noSleep,
      cached: first.metadata,
      budgetMs: 0,
      clock: () => (t += 1),
    });

    expect(warnings).toContain(
      'SCPs of 2 account(s) not refreshed within the budget; cached attachments (or none) are used',
    );
    expect(metadata.controlPolicies?.scp.attachments['222222222222']?.policyIds).toEqual(['p-FullAWSAccess']);
  });
});
