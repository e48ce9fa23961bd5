import { CREDENTIAL_REPORT_COLUMNS, ROOT_USER } from '../../../core/columns';
import {
  DeactivationPolicySchema,
  effectiveMode,
  parseAuditLog,
  parseRemediationPlan,
  planAccount,
  planDocument,
  planIsCurrent,
  remediationSummary,
  stageOf,
  stageThresholdsProblem,
  withoutSettledKeys,
  lastUseOf,
  type AuditLog,
  type DeactivationPolicy,
} from '../../../core/deactivation';
import type { AccessKeyRecord, AccountReport } from '../../../core/types';

const ACCOUNT = '111122223333';
const NOW = new Date('2026-12-04T07:00:00Z');
const DAY = 86_400_000;
const ago = (days: number): string => new Date(NOW.getTime() - days * DAY).toISOString();

const POLICY: DeactivationPolicy = {
  mode: 'dry-run',
  human: { unusedDays: 30, noticeDays: 10, deactivateAfterDays: 60 },
  machine: { unusedDays: 90, noticeDays: 14, deactivateAfterDays: 180 },
  optOutTag: 'credreport:keep',
  planMaxAgeHours: 26,
};

/** A credential report with one row per user: `true` gives the user a console password. */
function csv(users: Record<string, boolean>): string {
  const header = CREDENTIAL_REPORT_COLUMNS.join(',');
  const rows = Object.entries(users).map(([name, password]) =>
    CREDENTIAL_REPORT_COLUMNS.map((c) => {
      if (c === 'user') return name;
      if (c === 'arn') return `arn:aws:iam::${ACCOUNT}:user/${name}`;
      if (c === 'user_creation_time') return '2020-01-01T00:00:00+00:00';
      if (c === 'password_enabled') return String(password);
      if (c.endsWith('_active')) return 'false';
      return 'N/A';
    }).join(','),
  );
  const rootRow = CREDENTIAL_REPORT_COLUMNS.map((c) =>
    c === 'user'
      ? ROOT_USER
      : c === 'arn'
        ? `arn:aws:iam::${ACCOUNT}:root`
        : c === 'user_creation_time'
          ? '2020-01-01T00:00:00+00:00'
          : c === 'password_enabled'
            ? 'not_supported'
            : c.endsWith('_active')
              ? 'false'
              : 'N/A',
  ).join(',');
  return [header, rootRow, ...rows].join('\n');
}

let keySeq = 0;
function key(userName: string, over: Partial<AccessKeyRecord> = {}): AccessKeyRecord {
  keySeq++;
  return {
    userName,
    accessKeyId: `AKIA${String(keySeq).padStart(16, '0')}`,
    status: 'Active',
    createDate: ago(400),
    ...over,
  };
}

function report(
  users: Record<string, boolean>,
  keys: AccessKeyRecord[],
  userTags: { userName: string; tags: Record<string, string> }[] | null = [],
): AccountReport {
  return {
    schemaVersion: 3,
    accountId: ACCOUNT,
    generatedTime: NOW.toISOString(),
    collectedTime: NOW.toISOString(),
    credentialReportCsv: csv(users),
    accessKeys: keys,
    ...(userTags ? { accountFacts: { userTags } } : {}),
  };
}

describe('stageOf', () => {
  const t = POLICY.human;
  it('stages nothing before unusedDays, warns at unusedDays with the due date', () => {
    expect(stageOf(Date.parse(ago(29)), t, NOW)).toBeUndefined();
    expect(stageOf(Date.parse(ago(30)), t, NOW)).toEqual({ stage: 'warn', deactivateOn: '2027-01-03' });
  });
  it('gives the final notice noticeDays before deactivateAfterDays', () => {
    expect(stageOf(Date.parse(ago(49)), t, NOW)?.stage).toBe('warn');
    expect(stageOf(Date.parse(ago(50)), t, NOW)).toEqual({
      stage: 'final-notice',
      deactivateOn: '2026-12-14',
    });
  });
  it('deactivates at deactivateAfterDays, due today', () => {
    expect(stageOf(Date.parse(ago(59)), t, NOW)?.stage).toBe('final-notice');
    expect(stageOf(Date.parse(ago(60)), t, NOW)).toEqual({ stage: 'deactivate', deactivateOn: '2026-12-04' });
    expect(stageOf(Date.parse(ago(900)), t, NOW)?.stage).toBe('deactivate');
  });
});

describe('stageThresholdsProblem', () => {
  it('accepts an ordered ladder and refuses a warning at or after the final notice', () => {
    expect(stageThresholdsProblem(POLICY.human)).toBeUndefined();
    expect(stageThresholdsProblem({ unusedDays: 50, noticeDays: 10, deactivateAfterDays: 60 })).toMatch(
      /unusedDays \(50\) must be below deactivateAfterDays - noticeDays \(50\)/,
    );
    expect(stageThresholdsProblem({ unusedDays: 5, noticeDays: 60, deactivateAfterDays: 60 })).toMatch(
      /noticeDays \(60\) must be below deactivateAfterDays/,
    );
  });
  it('is what the environment schema enforces too', () => {
    expect(DeactivationPolicySchema.safeParse(POLICY).success).toBe(true);
    expect(
      DeactivationPolicySchema.safeParse({
        ...POLICY,
        machine: { unusedDays: 170, noticeDays: 14, deactivateAfterDays: 180 },
      }).success,
    ).toBe(false);
    expect(DeactivationPolicySchema.safeParse({ ...POLICY, extra: 1 }).success).toBe(false);
  });
});

describe('planAccount', () => {
  it('uses the human ladder for a console user and the machine ladder otherwise', () => {
    const human = key('alice', { lastUsedDate: ago(61) });
    const machine = key('ci-bot', { lastUsedDate: ago(61) });
    const result = planAccount(report({ alice: true, 'ci-bot': false }, [human, machine]), POLICY, NOW);
    expect(result.actions).toEqual([
      {
        accessKeyId: human.accessKeyId,
        userName: 'alice',
        stage: 'deactivate',
        kind: 'human',
        lastUsedAtPlan: human.lastUsedDate,
        createDate: human.createDate,
        deactivateOn: '2026-12-04',
      },
    ]);
    const old = key('ci-bot', { lastUsedDate: ago(170) });
    expect(planAccount(report({ 'ci-bot': false }, [old]), POLICY, NOW).actions).toEqual([
      expect.objectContaining({ userName: 'ci-bot', stage: 'final-notice', kind: 'machine' }),
    ]);
  });

  it('ages a never-used key from its creation', () => {
    const never = key('ci-bot', { createDate: ago(181) });
    const young = key('ci-bot', { createDate: ago(10) });
    const result = planAccount(report({ 'ci-bot': false }, [never, young]), POLICY, NOW);
    expect(result.actions).toEqual([
      expect.objectContaining({ accessKeyId: never.accessKeyId, stage: 'deactivate' }),
    ]);
    expect(result.actions[0]).not.toHaveProperty('lastUsedAtPlan');
  });

  it("reads a key's last use from its report slot when the inventory has none (the collector looked it up there)", () => {
    // Created 400 days ago, used 5 days ago: the report's slot 1 says so, matched by creation second.
    const used = key('ci-bot', { createDate: ago(400) });
    const cells = (rotated: string, lastUsed: string) =>
      csv({ 'ci-bot': false })
        .split('\n')
        .map((line) => {
          if (!line.startsWith('ci-bot,')) return line;
          const row = line.split(',');
          row[CREDENTIAL_REPORT_COLUMNS.indexOf('access_key_1_active')] = 'true';
          row[CREDENTIAL_REPORT_COLUMNS.indexOf('access_key_1_last_rotated')] = rotated;
          row[CREDENTIAL_REPORT_COLUMNS.indexOf('access_key_1_last_used_date')] = lastUsed;
          return row.join(',');
        })
        .join('\n');
    const reportTime = (iso: string) => iso.replace(/\.\d{3}Z$/, '+00:00');
    const withSlot = (lastUsed: string): AccountReport => ({
      ...report({ 'ci-bot': false }, [used]),
      credentialReportCsv: cells(reportTime(used.createDate), lastUsed),
    });
    expect(planAccount(withSlot(reportTime(ago(5))), POLICY, NOW).actions).toEqual([]);
    // Used 175 days ago per the report: final notice, with that last use carried for the agent's re-check.
    const stale = planAccount(withSlot(reportTime(ago(175))), POLICY, NOW).actions;
    expect(stale).toEqual([
      expect.objectContaining({
        stage: 'final-notice',
        lastUsedAtPlan: new Date(Date.parse(reportTime(ago(175)))).toISOString(),
      }),
    ]);
    // A slot of another creation second is another key: this one counts from its creation.
    const other = {
      ...report({ 'ci-bot': false }, [used]),
      credentialReportCsv: cells(reportTime(ago(3)), reportTime(ago(1))),
    };
    expect(planAccount(other, POLICY, NOW).actions).toEqual([
      expect.objectContaining({ stage: 'deactivate' }),
    ]);
  });

  it("takes no other key's slot for a key created in the same second as another of its user (the collector looked both up)", () => {
    const slot = { createDate: ago(400) };
    const row = {
      access_key_1_last_rotated: ago(400).replace(/\.\d{3}Z$/, '+00:00'),
      access_key_1_last_used_date: ago(1).replace(/\.\d{3}Z$/, '+00:00'),
      access_key_2_last_rotated: 'N/A',
      access_key_2_last_used_date: 'N/A',
    } as unknown as Parameters<typeof lastUseOf>[1];
    expect(lastUseOf(slot, row)).toBe(ago(1));
    // Two keys of the same second: the report cannot tell them apart, so only the lookup's answer counts.
    expect(lastUseOf(slot, row, 2)).toBeUndefined();
    expect(lastUseOf({ ...slot, lastUsedDate: ago(3) }, row, 2)).toBe(ago(3));
  });

  it("never stages the root user's keys or an inactive key", () => {
    const rootKey = key(ROOT_USER, { lastUsedDate: ago(900) });
    const inactive = key('alice', { status: 'Inactive', lastUsedDate: ago(900) });
    expect(planAccount(report({ alice: true }, [rootKey, inactive]), POLICY, NOW).actions).toEqual([]);
  });

  it('spares a user carrying the opt-out tag, whatever its value', () => {
    const k = key('svc', { lastUsedDate: ago(900) });
    const result = planAccount(
      report({ svc: false }, [k], [{ userName: 'svc', tags: { 'credreport:keep': '' } }]),
      POLICY,
      NOW,
    );
    expect(result.actions).toEqual([]);
    expect(result.spared).toEqual({ optOut: 1, exempt: 0 });
  });

  it('spares a key the exemption predicate matches, and asks it with account, user and key id', () => {
    const k = key('svc', { lastUsedDate: ago(900) });
    const other = key('svc', { lastUsedDate: ago(900) });
    const asked: string[] = [];
    const result = planAccount(report({ svc: false }, [k, other]), POLICY, NOW, (account, user, id) => {
      asked.push(`${account}/${user}/${id}`);
      return id === k.accessKeyId;
    });
    expect(asked).toEqual([`${ACCOUNT}/svc/${k.accessKeyId}`, `${ACCOUNT}/svc/${other.accessKeyId}`]);
    expect(result.actions.map((a) => a.accessKeyId)).toEqual([other.accessKeyId]);
    expect(result.spared).toEqual({ optOut: 0, exempt: 1 });
  });

  it('plans nothing for an account whose user tags are unknown while an opt-out tag is configured', () => {
    const k = key('svc', { lastUsedDate: ago(900) });
    const result = planAccount(report({ svc: false }, [k], null), POLICY, NOW);
    expect(result.actions).toEqual([]);
    expect(result.notPlanned).toMatch(/user tags unknown/);
    const withoutTag: DeactivationPolicy = { ...POLICY };
    delete (withoutTag as { optOutTag?: string }).optOutTag;
    expect(planAccount(report({ svc: false }, [k], null), withoutTag, NOW).actions).toHaveLength(1);
  });

  it('uses the later ladder for a user the credential report does not list', () => {
    const k = key('new-user', { lastUsedDate: ago(61) });
    expect(planAccount(report({}, [k]), POLICY, NOW).actions).toEqual([]);
  });
});

describe('plan and audit log contracts', () => {
  it('round-trips a plan and refuses unknown fields, another shape or oversize text', () => {
    const k = key('alice', { lastUsedDate: ago(61) });
    const plan = planDocument(planAccount(report({ alice: true }, [k]), POLICY, NOW), 'dry-run', NOW);
    expect(parseRemediationPlan(JSON.stringify(plan))).toEqual(plan);
    expect(() => parseRemediationPlan(JSON.stringify({ ...plan, extra: true }))).toThrow(/plan: \(root\)/);
    expect(() => parseRemediationPlan(JSON.stringify({ ...plan, accountId: 'x' }))).toThrow(/accountId/);
    expect(() => parseRemediationPlan('x'.repeat(4_194_305))).toThrow(/larger than/);
    expect(() => parseAuditLog('{')).toThrow(/not JSON/);
  });

  it('acts only on a current plan, and enforces only when both plan and agent say enforce', () => {
    const plan = planDocument(
      { accountId: ACCOUNT, actions: [], spared: { optOut: 0, exempt: 0 } },
      'enforce',
      NOW,
    );
    expect(planIsCurrent(plan, new Date(NOW.getTime() + 26 * 3_600_000), 26)).toBe(true);
    expect(planIsCurrent(plan, new Date(NOW.getTime() + 27 * 3_600_000), 26)).toBe(false);
    expect(planIsCurrent(plan, new Date(NOW.getTime() - 3_600_000), 26)).toBe(false);
    expect(effectiveMode(plan, 'enforce')).toBe('enforce');
    expect(effectiveMode(plan, 'dry-run')).toBe('dry-run');
    expect(effectiveMode({ ...plan, mode: 'dry-run' }, 'enforce')).toBe('dry-run');
  });
});

describe('remediationSummary', () => {
  it('counts stages, spared keys and the audit outcomes, most urgent first', () => {
    const a = key('alice', { lastUsedDate: ago(61) });
    const b = key('alice', { lastUsedDate: ago(31) });
    const plan = planAccount(report({ alice: true }, [b, a]), POLICY, NOW);
    const s = remediationSummary({
      mode: 'dry-run',
      plans: [plan],
      plansWritten: 1,
      writeFailures: [{ accountId: '444455556666', detail: 'AccessDenied' }],
      logs: [
        {
          schemaVersion: 1,
          accountId: ACCOUNT,
          runAt: NOW.toISOString(),
          mode: 'dry-run',
          plan: 'acted',
          records: [
            {
              accessKeyId: a.accessKeyId,
              userName: 'alice',
              outcome: 'would-deactivate',
              at: NOW.toISOString(),
            },
            {
              accessKeyId: b.accessKeyId,
              userName: 'alice',
              outcome: 'skipped',
              reason: 'used-since-plan',
              at: NOW.toISOString(),
            },
          ],
        },
        {
          schemaVersion: 1,
          accountId: '777788889999',
          runAt: NOW.toISOString(),
          mode: 'dry-run',
          plan: 'stale',
          records: [],
        },
      ],
      unreadableLogs: [],
    });
    expect(s.planned).toEqual({ warn: 1, 'final-notice': 0, deactivate: 1 });
    expect(s.keys.map((k) => k.stage)).toEqual(['deactivate', 'warn']);
    expect(s.log).toMatchObject({ deactivated: 0, wouldDeactivate: 1, skipped: 1, failed: 0 });
    expect(s.log.plansRefused).toEqual([{ accountId: '777788889999', plan: 'stale' }]);
    expect(s.notPlanned).toEqual([{ accountId: '444455556666', detail: 'plan not written: AccessDenied' }]);
  });
});

describe('withoutSettledKeys', () => {
  const planned = (...ids: string[]) => ({
    accountId: ACCOUNT,
    actions: ids.map((accessKeyId) => ({
      accessKeyId,
      userName: 'ci-bot',
      stage: 'deactivate' as const,
      kind: 'machine' as const,
      createDate: ago(400),
      deactivateOn: '2026-12-04',
    })),
    spared: { optOut: 0, exempt: 0 },
  });
  const log = (accountId: string, records: [string, AuditLog['records'][number]['outcome'], string][]) =>
    ({
      schemaVersion: 1,
      accountId,
      runAt: NOW.toISOString(),
      mode: 'enforce',
      plan: 'acted',
      records: records.map(([accessKeyId, outcome, at]) => ({
        accessKeyId,
        userName: 'ci-bot',
        outcome,
        ...(outcome === 'skipped' ? { reason: 'key-gone' as const } : {}),
        at,
      })),
    }) satisfies AuditLog;
  const collected = NOW.getTime() - 3_600_000;
  const after = new Date(collected + 60_000).toISOString();
  const before = new Date(collected - 60_000).toISOString();

  it('drops the keys an agent deactivated or skipped after the report was collected, and keeps the rest', () => {
    const ids = ['AKIA0000000000000001', 'AKIA0000000000000002', 'AKIA0000000000000003'];
    const result = withoutSettledKeys(
      planned(...ids, 'AKIA0000000000000004', 'AKIA0000000000000005'),
      [
        log(ACCOUNT, [
          [ids[0]!, 'deactivated', after],
          [ids[1]!, 'skipped', after],
          // Before the report: the report already shows the key as it is, so the plan stands.
          [ids[2]!, 'deactivated', before],
          ['AKIA0000000000000004', 'would-deactivate', after],
          ['AKIA0000000000000005', 'failed', after],
        ]),
        // Another account's log never settles this account's keys.
        log('999999999999', [[ids[2]!, 'deactivated', after]]),
      ],
      collected,
    );
    expect(result.actions.map((a) => a.accessKeyId)).toEqual([
      ids[2],
      'AKIA0000000000000004',
      'AKIA0000000000000005',
    ]);
  });
});
