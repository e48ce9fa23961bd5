import 'aws-sdk-client-mock-jest';
import {
  ListAccountsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  AccessDeniedException,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { OrgMetadataError, fetchOrgMetadata } from '../../../collector/org-metadata';
import { selectExpectedAccounts } from '../../../core/org-metadata';
import { OrgMetadata } from '../../../core/types';
import {
  FakeOrganization,
  generatedOrganization,
  wireFakeOrganization,
} from '../aggregator/support/fake-organizations';

const orgMock = mockClient(OrganizationsClient);
const client = new OrganizationsClient({ region: 'us-east-1' });
const NOW = new Date('2026-11-21T06:00:00Z');
const noSleep = async (): Promise<void> => undefined;

/** Root → Workloads → {Prod, Dev}; Security; one account directly under the root. */
function smallOrg(): FakeOrganization {
  const joined = new Date('2024-05-01T00:00:00Z');
  return new FakeOrganization(
    'o-abcdefghij',
    '111111111111',
    'r-ab12',
    [
      { id: 'ou-ab12-work0001', name: 'Workloads', parentId: 'r-ab12' },
      { id: 'ou-ab12-prod0001', name: 'Prod', parentId: 'ou-ab12-work0001' },
      { id: 'ou-ab12-dev00001', name: 'Dev', parentId: 'ou-ab12-work0001' },
      { id: 'ou-ab12-sec00001', name: 'Security', parentId: 'r-ab12' },
    ],
    [
      {
        id: '111111111111',
        name: 'management',
        email: 'm@example.com',
        state: 'ACTIVE',
        parentId: 'r-ab12',
        joined,
        tags: {},
      },
      {
        id: '222222222222',
        name: 'prod-a',
        email: 'p@example.com',
        state: 'ACTIVE',
        parentId: 'ou-ab12-prod0001',
        joined,
        tags: { Environment: 'prod' },
      },
      {
        id: '333333333333',
        name: 'dev-a',
        email: 'd@example.com',
        state: 'ACTIVE',
        parentId: 'ou-ab12-dev00001',
        joined,
        tags: { Environment: 'dev' },
      },
      {
        id: '444444444444',
        name: 'old',
        email: 'o@example.com',
        state: 'SUSPENDED',
        parentId: 'ou-ab12-dev00001',
        joined,
        tags: {},
      },
      {
        id: '555555555555',
        name: 'audit',
        email: 'a@example.com',
        state: 'ACTIVE',
        parentId: 'ou-ab12-sec00001',
        joined,
        tags: { Environment: 'prod', Owner: 'sec' },
      },
    ],
  );
}

beforeEach(() => orgMock.reset());

describe('fetchOrgMetadata', () => {
  it('places every account in its OU path by name and id with one listing per parent', async () => {
    const org = smallOrg();
    wireFakeOrganization(orgMock, org);
    const { metadata, calls, warnings } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    expect(warnings).toEqual([]);
    expect(metadata.organizationId).toBe('o-abcdefghij');
    expect(metadata.managementAccountId).toBe('111111111111');
    expect(metadata.fetchedAt).toBe(NOW.toISOString());
    const byId = Object.fromEntries(metadata.accounts.map((a) => [a.id, a]));
    expect(byId['222222222222']).toMatchObject({
      name: 'prod-a',
      email: 'p@example.com',
      state: 'ACTIVE',
      joinedTime: '2024-05-01T00:00:00.000Z',
      ouPath: 'Root/Workloads/Prod',
      ouIdPath: ['r-ab12', 'ou-ab12-work0001', 'ou-ab12-prod0001'],
      tags: { Environment: 'prod' },
    });
    expect(byId['111111111111']?.ouPath).toBe('Root');
    expect(byId['444444444444']?.state).toBe('SUSPENDED');
    // 1 root + 4 OUs = 5 parents: one OU listing and one account listing each; one tag call per ACTIVE
    // account (the suspended one is not expected to report and is not asked); the SCPs of the root, the
    // 4 OUs and the 4 ACTIVE accounts, and FullAWSAccess described once (RCPs are not enabled: no call).
    expect(calls).toEqual({
      DescribeOrganization: 1,
      ListAccounts: 1,
      ListRoots: 1,
      ListOrganizationalUnitsForParent: 5,
      ListAccountsForParent: 5,
      ListTagsForResource: 4,
      ListPoliciesForTarget: 9,
      DescribePolicy: 1,
    });
    expect(orgMock).not.toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: '444444444444' });
    expect(metadata.tagsFetchedAt?.['555555555555']).toBe(NOW.toISOString());
  });

  it('follows pagination of ListAccounts with State rather than Status', async () => {
    const org = generatedOrganization({ accounts: 45 });
    wireFakeOrganization(orgMock, org);
    const { metadata, calls } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    expect(metadata.accounts).toHaveLength(45);
    expect(calls.ListAccounts).toBe(3);
    expect(orgMock).toHaveReceivedCommandWith(ListAccountsCommand, { NextToken: '20', MaxResults: 20 });
    expect(metadata.accounts.filter((a) => a.state === 'SUSPENDED').map((a) => a.id)).toEqual([
      '100000000013',
    ]);
  });

  it('lists the accounts beside the tree walk without exceeding the concurrency', async () => {
    const org = generatedOrganization({ accounts: 200 });
    org.latencyMs = 2;
    const handle = org.handle.bind(org);
    let inFlight = 0;
    let maxInFlight = 0;
    const events: string[] = [];
    org.handle = async (operation, input) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      events.push(`start ${operation}`);
      try {
        return await handle(operation, input);
      } finally {
        inFlight--;
        events.push(`end ${operation}`);
      }
    };
    wireFakeOrganization(orgMock, org);
    const { metadata, calls } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep, concurrency: 3 });
    expect(metadata.accounts).toHaveLength(200);
    expect(metadata.accounts.every((a) => a.ouPath.startsWith('Root/'))).toBe(true);
    expect(calls.ListAccounts).toBe(10);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    // The walk started before the account listing finished.
    expect(events.indexOf('start ListAccountsForParent')).toBeLessThan(
      events.lastIndexOf('end ListAccounts'),
    );
  });

  it('retries a throttled page and succeeds when Organizations answers TooManyRequestsException', async () => {
    const org = smallOrg();
    org.throttle.ListAccounts = 2;
    org.throttle.ListAccountsForParent = 1;
    org.throttle.ListTagsForResource = 3;
    wireFakeOrganization(orgMock, org);
    const waits: number[] = [];
    const { metadata, calls, warnings } = await fetchOrgMetadata(client, {
      now: NOW,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(metadata.accounts).toHaveLength(5);
    expect(warnings).toEqual([]);
    expect(calls.ListAccounts).toBe(3);
    expect(calls.ListTagsForResource).toBe(7);
    expect(waits).toHaveLength(6);
    expect(metadata.accounts.every((a) => a.ouPath.startsWith('Root'))).toBe(true);
  });

  it('fails with OrgMetadataError when the structure stays throttled beyond the retries', async () => {
    const org = smallOrg();
    org.throttle.DescribeOrganization = 99;
    wireFakeOrganization(orgMock, org);
    await expect(fetchOrgMetadata(client, { now: NOW, sleep: noSleep, throttleRetries: 2 })).rejects.toThrow(
      OrgMetadataError,
    );
    expect(org.calls.DescribeOrganization).toBe(3);
  });

  it('fails with OrgMetadataError naming the cause when ListAccounts is denied', async () => {
    wireFakeOrganization(orgMock, smallOrg());
    orgMock.on(ListAccountsCommand).rejects(new AccessDeniedException({ $metadata: {}, message: 'denied' }));
    await expect(fetchOrgMetadata(client, { now: NOW, sleep: noSleep })).rejects.toThrow(
      /AccessDeniedException/,
    );
  });

  it('keeps going with empty tags and a warning when tags are access denied', async () => {
    const org = smallOrg();
    org.deniedTags.add('*');
    wireFakeOrganization(orgMock, org);
    const { metadata, warnings, calls } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    expect(metadata.accounts).toHaveLength(5);
    expect(metadata.accounts.every((a) => Object.keys(a.tags).length === 0)).toBe(true);
    expect(metadata.tagsFetchedAt).toEqual({});
    expect(warnings.join('\n')).toMatch(/denied for 4 account/);
    // Every ACTIVE account was tried once (the circuit opens only after 5 denials without one success).
    expect(calls.ListTagsForResource).toBe(4);
  });

  it('stops asking for tags after repeated AccessDenied in a large org', async () => {
    const org = generatedOrganization({ accounts: 100 });
    org.deniedTags.add('*');
    wireFakeOrganization(orgMock, org);
    const { warnings, calls } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep, concurrency: 1 });
    expect(calls.ListTagsForResource).toBe(5);
    // 100 accounts, one of them suspended: 99 to ask, 5 asked.
    expect(warnings.join('\n')).toMatch(/stopped asking; 94 more not tried/);
  });

  it('keeps the cached tags of an account whose tags are denied', async () => {
    const org = smallOrg();
    wireFakeOrganization(orgMock, org);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    org.deniedTags.add('555555555555');
    const later = new Date(NOW.getTime() + 48 * 3_600_000);
    const { metadata, warnings } = await fetchOrgMetadata(client, {
      now: later,
      cached: first.metadata,
      sleep: noSleep,
    });
    expect(metadata.accounts.find((a) => a.id === '555555555555')?.tags).toEqual({
      Environment: 'prod',
      Owner: 'sec',
    });
    expect(metadata.tagsFetchedAt?.['555555555555']).toBe(NOW.toISOString());
    expect(metadata.tagsFetchedAt?.['222222222222']).toBe(later.toISOString());
    expect(warnings.join('\n')).toMatch(/denied for 1 account/);
  });

  it('makes no tag calls for fresh cached accounts and asks only for new or stale ones when the cache is warm', async () => {
    const org = smallOrg();
    wireFakeOrganization(orgMock, org);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });

    // One account's cached tags are old; one account is new since the cache.
    const cached: OrgMetadata = {
      ...first.metadata,
      tagsFetchedAt: {
        ...first.metadata.tagsFetchedAt,
        '333333333333': new Date(NOW.getTime() - 30 * 3_600_000).toISOString(),
      },
    };
    org.accounts.push({
      id: '666666666666',
      name: 'new',
      email: 'n@example.com',
      state: 'ACTIVE',
      parentId: 'ou-ab12-prod0001',
      joined: NOW,
      tags: { Environment: 'prod' },
    });
    orgMock.resetHistory();
    const later = new Date(NOW.getTime() + 3_600_000);
    const { metadata, calls } = await fetchOrgMetadata(client, {
      now: later,
      cached,
      tagMaxAgeHours: 24,
      sleep: noSleep,
    });
    expect(calls.ListTagsForResource).toBe(2);
    expect(orgMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: '333333333333' });
    expect(orgMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: '666666666666' });
    expect(orgMock).not.toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: '222222222222' });
    expect(metadata.accounts.find((a) => a.id === '222222222222')?.tags).toEqual({ Environment: 'prod' });
    expect(metadata.tagsFetchedAt?.['222222222222']).toBe(NOW.toISOString());
    expect(metadata.accounts).toHaveLength(6);
  });

  it('keeps cached tags with a warning for the accounts it cannot refresh within the budget', async () => {
    const org = smallOrg();
    wireFakeOrganization(orgMock, org);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    // Every call costs 10 "ms" on the injected clock: the 13 structure calls take 130, leaving room for two
    // tag calls; the other two ACTIVE accounts are out of budget (the suspended one is not due at all).
    let t = 0;
    org.before = () => {
      t += 10;
    };
    const later = new Date(NOW.getTime() + 48 * 3_600_000);
    const { metadata, warnings, calls } = await fetchOrgMetadata(client, {
      now: later,
      cached: first.metadata,
      budgetMs: 145,
      concurrency: 1,
      clock: () => t,
      sleep: noSleep,
    });
    expect(calls.ListTagsForResource).toBe(2);
    expect(warnings.join('\n')).toMatch(/Tags of 2 account\(s\) not refreshed within the 145 ms budget/);
    expect(metadata.accounts.find((a) => a.id === '555555555555')?.tags).toEqual({
      Environment: 'prod',
      Owner: 'sec',
    });
    const refreshed = Object.values(metadata.tagsFetchedAt ?? {}).filter((v) => v === later.toISOString());
    expect(refreshed).toHaveLength(2);
  });

  it('keeps the cached tags of a suspended account without asking for them again', async () => {
    const org = smallOrg();
    const suspended = org.accounts.find((a) => a.id === '444444444444');
    if (suspended) Object.assign(suspended, { state: 'ACTIVE', tags: { Environment: 'old' } });
    wireFakeOrganization(orgMock, org);
    const first = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep });
    if (suspended) {
      suspended.state = 'SUSPENDED';
      suspended.tags = { Environment: 'changed' };
    }
    orgMock.resetHistory();
    const later = new Date(NOW.getTime() + 48 * 3_600_000);
    const { metadata, calls } = await fetchOrgMetadata(client, {
      now: later,
      cached: first.metadata,
      sleep: noSleep,
    });
    expect(calls.ListTagsForResource).toBe(4);
    expect(orgMock).not.toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceId: '444444444444' });
    const account = metadata.accounts.find((a) => a.id === '444444444444');
    expect(account).toMatchObject({ state: 'SUSPENDED', tags: { Environment: 'old' } });
    expect(metadata.tagsFetchedAt?.['444444444444']).toBe(NOW.toISOString());
  });

  it('places an account that moved during the tree walk with ListParents', async () => {
    const org = smallOrg();
    let moved = false;
    org.before = (operation, input) => {
      // Move dev-a from Dev to Security after Security was listed but before Dev was.
      if (!moved && operation === 'ListAccountsForParent' && input.ParentId === 'ou-ab12-dev00001') {
        moved = true;
        const account = org.accounts.find((a) => a.id === '333333333333');
        if (account) account.parentId = 'ou-ab12-sec00001';
      }
    };
    wireFakeOrganization(orgMock, org);
    const { metadata, calls } = await fetchOrgMetadata(client, { now: NOW, sleep: noSleep, concurrency: 1 });
    expect(calls.ListParents).toBe(1);
    expect(metadata.accounts.find((a) => a.id === '333333333333')?.ouPath).toBe('Root/Security');
  });
});

describe('selectExpectedAccounts', () => {
  const metadata = (): Promise<OrgMetadata> => {
    wireFakeOrganization(orgMock, smallOrg());
    return fetchOrgMetadata(client, { now: NOW, sleep: noSleep }).then((r) => r.metadata);
  };

  it('selects every ACTIVE account when the root is targeted', async () => {
    expect(selectExpectedAccounts(await metadata(), ['r-ab12'])).toEqual([
      '111111111111',
      '222222222222',
      '333333333333',
      '555555555555',
    ]);
  });

  it('selects ACTIVE accounts anywhere under the targeted OUs, plus the always-included hub account', async () => {
    expect(selectExpectedAccounts(await metadata(), ['ou-ab12-work0001'], ['111111111111'])).toEqual([
      '111111111111',
      '222222222222',
      '333333333333',
    ]);
  });

  it('never expects suspended accounts even under a targeted OU', async () => {
    expect(selectExpectedAccounts(await metadata(), ['ou-ab12-dev00001'])).toEqual(['333333333333']);
  });

  it('treats an empty target list as the whole organization', async () => {
    expect(selectExpectedAccounts(await metadata(), [])).toHaveLength(4);
  });
});
