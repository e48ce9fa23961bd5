import 'aws-sdk-client-mock-jest';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  InvalidAccessException,
  LimitExceededException,
  SecurityHubClient,
  type AwsSecurityFinding,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import { importFindingsToSecurityHub } from '../../../collector/security-hub-import';
import { asffFinding, importWarning } from '../../../core/asff';
import { FINDING_CONTROLS, FINDING_IDS } from '../../../core/finding-ids';
import type { OpenFinding } from '../../../core/findings-csv';

const hubMock = mockClient(SecurityHubClient);
const securityHub = new SecurityHubClient({ region: 'eu-west-1' });
const NOW = new Date('2026-11-21T06:00:00Z');
const ACCOUNT = '111111111111';
const TARGET = { accountId: ACCOUNT, region: 'eu-west-1', partition: 'aws' };
const PRODUCT_ARN = `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`;
const noSleep = jest.fn(async (): Promise<void> => undefined);

/** `n` distinct open key findings of the account. */
function openFindings(n: number): OpenFinding[] {
  return Array.from({ length: n }, (_, i) => ({
    accountId: ACCOUNT,
    findingId: FINDING_IDS[i % FINDING_IDS.length] ?? 'key-not-rotated',
    severity: 'medium',
    controls: FINDING_CONTROLS['key-not-rotated'],
    userName: `user-${Math.floor(i / FINDING_IDS.length)}`,
    userArn: `arn:aws:iam::${ACCOUNT}:user/user-${Math.floor(i / FINDING_IDS.length)}`,
    accessKeyId: '',
    firstSeen: NOW.toISOString(),
    detail: 'detail',
    path: '',
    organization: false,
  }));
}

const deps = { securityHub, sleep: noSleep, random: () => 0.5 };

beforeEach(() => {
  hubMock.reset();
  noSleep.mockClear();
  hubMock.on(GetFindingsCommand).resolves({ Findings: [] });
});

describe('importFindingsToSecurityHub', () => {
  it('sends 250 open findings in batches of 100, 100 and 50, reading the previous import by product and generator', async () => {
    hubMock.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      FailedCount: 0,
      SuccessCount: input.Findings.length,
      FailedFindings: [],
    }));
    const result = await importFindingsToSecurityHub(deps, {
      target: TARGET,
      open: openFindings(250),
      now: NOW,
    });
    const calls = hubMock.commandCalls(BatchImportFindingsCommand);
    expect(calls.map((c) => c.args[0].input.Findings?.length)).toEqual([100, 100, 50]);
    expect(result).toEqual({ imported: 250, archived: 0, failed: {}, previousSkipped: 0 });
    expect(importWarning(result)).toBeUndefined();
    expect(hubMock).toHaveReceivedCommandWith(GetFindingsCommand, {
      Filters: {
        ProductArn: [{ Value: PRODUCT_ARN, Comparison: 'EQUALS' }],
        GeneratorId: [{ Value: 'credreport/', Comparison: 'PREFIX' }],
        AwsAccountId: [{ Value: ACCOUNT, Comparison: 'EQUALS' }],
        RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }],
      },
      MaxResults: 100,
    });
    const ids = calls.flatMap((c) => (c.args[0].input.Findings ?? []).map((f) => f.Id));
    expect(new Set(ids).size).toBe(250);
    for (const f of calls.flatMap((c) => c.args[0].input.Findings ?? []))
      expect(f.AwsAccountId).toBe(ACCOUNT);
  });

  it('retries a throttled call with backoff and then imports the batch', async () => {
    hubMock
      .on(BatchImportFindingsCommand)
      .rejectsOnce(new LimitExceededException({ message: 'slow down', $metadata: {} }))
      .rejectsOnce(new LimitExceededException({ message: 'slow down', $metadata: {} }))
      .resolves({ FailedCount: 0, SuccessCount: 3, FailedFindings: [] });
    const result = await importFindingsToSecurityHub(deps, {
      target: TARGET,
      open: openFindings(3),
      now: NOW,
    });
    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(3);
    expect(noSleep).toHaveBeenCalledTimes(2);
    expect(result.imported).toBe(3);
    expect(result.failed).toEqual({});
  });

  it('counts FailedFindings per error code and says so in the report warning', async () => {
    hubMock.on(BatchImportFindingsCommand).callsFake((input: { Findings: AwsSecurityFinding[] }) => ({
      FailedCount: 2,
      SuccessCount: input.Findings.length - 2,
      FailedFindings: [
        { Id: input.Findings[0]?.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad' },
        { Id: input.Findings[1]?.Id, ErrorCode: 'InvalidInput', ErrorMessage: 'bad' },
      ],
    }));
    const result = await importFindingsToSecurityHub(deps, {
      target: TARGET,
      open: openFindings(5),
      now: NOW,
    });
    expect(result).toMatchObject({ imported: 3, failed: { InvalidInput: 2 } });
    expect(importWarning(result)).toBe('Security Hub import: 2 of 5 findings not imported (InvalidInput 2)');
  });

  it('archives a previously imported finding that is no longer open, keeping the CreatedAt of one still open', async () => {
    const [still, gone] = openFindings(2) as [OpenFinding, OpenFinding];
    const earlier = new Date('2026-10-01T06:00:00Z');
    const previous = [
      asffFinding(still, TARGET, earlier, earlier.toISOString()),
      asffFinding(gone, TARGET, earlier, earlier.toISOString()),
    ].map((f) => ({
      ...f,
      // What Security Hub adds on its side: stripped before anything is sent back.
      ProcessedAt: earlier.toISOString(),
      Severity: { ...f.Severity, Normalized: 40 },
      ProductFields: { ...f.ProductFields, 'aws/securityhub/FindingId': 'arn:x' },
    }));
    hubMock.on(GetFindingsCommand).resolves({ Findings: previous as unknown as AwsSecurityFinding[] });
    hubMock.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      FailedCount: 0,
      SuccessCount: input.Findings.length,
    }));
    const result = await importFindingsToSecurityHub(deps, { target: TARGET, open: [still], now: NOW });
    expect(result).toMatchObject({ imported: 1, archived: 1, failed: {} });
    const [active, archive] = hubMock
      .commandCalls(BatchImportFindingsCommand)
      .map((c) => c.args[0].input.Findings ?? []);
    expect(active?.[0]).toMatchObject({
      Id: previous[0]?.Id,
      CreatedAt: earlier.toISOString(),
      RecordState: 'ACTIVE',
    });
    expect(archive?.[0]).toMatchObject({
      Id: previous[1]?.Id,
      RecordState: 'ARCHIVED',
      UpdatedAt: NOW.toISOString(),
    });
    expect(archive?.[0]).not.toHaveProperty('ProcessedAt');
    expect(archive?.[0]?.Severity).toEqual({ Label: 'MEDIUM', Original: 'medium' });
    expect(Object.keys(archive?.[0]?.ProductFields ?? {})).toEqual(['credreport/FindingId']);
  });

  it('leaves a previous finding that is not credreport’s alone and counts it', async () => {
    hubMock.on(GetFindingsCommand).resolves({
      Findings: [{ Id: 'other', ProductArn: PRODUCT_ARN, GeneratorId: 'credreport/x' } as AwsSecurityFinding],
    });
    hubMock.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1 });
    const result = await importFindingsToSecurityHub(deps, {
      target: TARGET,
      open: openFindings(1),
      now: NOW,
    });
    expect(result).toMatchObject({ imported: 1, archived: 0, previousSkipped: 1 });
  });

  it('never throws when Security Hub is off: every finding counted under the error, one call only', async () => {
    hubMock
      .on(GetFindingsCommand)
      .rejects(new InvalidAccessException({ message: 'not subscribed', $metadata: {} }));
    hubMock
      .on(BatchImportFindingsCommand)
      .rejects(new InvalidAccessException({ message: 'not subscribed', $metadata: {} }));
    const result = await importFindingsToSecurityHub(deps, {
      target: TARGET,
      open: openFindings(150),
      now: NOW,
    });
    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(1);
    expect(result).toMatchObject({
      imported: 0,
      failed: { InvalidAccessException: 150 },
      previousError: 'InvalidAccessException',
    });
    expect(importWarning(result)).toMatch(
      /^Security Hub import: 150 of 150 findings not imported \(InvalidAccessException 150\)/,
    );
  });

  it('stops at its deadline and counts what it did not send', async () => {
    hubMock.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 100 });
    let t = 0;
    const result = await importFindingsToSecurityHub(
      { ...deps, clockMs: () => (t += 1000) },
      { target: TARGET, open: openFindings(250), now: NOW, deadlineMs: 2500 },
    );
    // The clock reads 1 s, 2 s, 3 s before the three calls: the third would start past the deadline.
    expect(result.imported).toBe(200);
    expect(result.failed).toEqual({ DeadlineExceeded: 50 });
    expect(hubMock.commandCalls(BatchImportFindingsCommand)).toHaveLength(2);
  });
});
