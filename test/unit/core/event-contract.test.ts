import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  AccountReportSchema,
  ContractError,
  MAX_DECODED_PAYLOAD_BYTES,
  MAX_PARTS,
  PAYLOAD_BOUNDS,
  PartDetail,
  assembleParts,
  boundWarnings,
  entryBytes,
  parsePartDetail,
  reportIdFor,
  splitReport,
} from '../../../core/event-contract';
import { DEFAULT_MAX_ENTRY_BYTES, EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../../core/names';
import { ACCOUNT, GENERATED, manyUsers, sampleAccountReport } from '../collector/fixtures';

describe('reportIdFor', () => {
  it('joins the account and a compact UTC generated time when given an ISO time', () => {
    expect(reportIdFor(ACCOUNT, '2024-05-01T08:00:00.000Z')).toBe('123456789012-20240501T080000Z');
    expect(reportIdFor(ACCOUNT, '2024-05-01T10:00:00+02:00')).toBe('123456789012-20240501T080000Z');
  });

  it('throws ContractError when the time is not a time', () => {
    expect(() => reportIdFor(ACCOUNT, 'yesterday')).toThrow(ContractError);
  });
});

describe('AccountReportSchema', () => {
  it('accepts a complete report when every field is valid', () => {
    expect(AccountReportSchema.parse(sampleAccountReport())).toEqual(sampleAccountReport());
  });

  it('rejects a report when it has an unknown field', () => {
    expect(AccountReportSchema.safeParse({ ...sampleAccountReport(), extra: 1 }).success).toBe(false);
  });

  it('rejects a report when a privilege entry has an unknown kind', () => {
    const report = sampleAccountReport();
    const bad = { ...report, privileges: [{ ...report.privileges![0]!, grantingPolicies: { root: ['x'] } }] };
    expect(AccountReportSchema.safeParse(bad).success).toBe(false);
  });

  it('rejects a report when the schema version is not 1, 2 or 3', () => {
    expect(AccountReportSchema.safeParse({ ...sampleAccountReport(), schemaVersion: 4 }).success).toBe(false);
    expect(AccountReportSchema.safeParse({ ...sampleAccountReport(), schemaVersion: 0 }).success).toBe(false);
  });

  it('accepts a v1 report (an agent not yet updated) without grants', () => {
    expect(AccountReportSchema.safeParse({ ...sampleAccountReport(), schemaVersion: 1 }).success).toBe(true);
  });

  it('rejects grants in a v1 report, where the field does not exist', () => {
    const report = sampleAccountReport();
    const privileges = (report.privileges ?? []).map((p) => ({
      ...p,
      grants: { admin: [{ path: 'AdministratorAccess', actions: ['iam:PutUserPolicy'] }] },
    }));
    expect(AccountReportSchema.safeParse({ ...report, schemaVersion: 1, privileges }).success).toBe(false);
  });
});

describe('AccountReportSchema v3 account facts', () => {
  const facts = {
    rootCredentials: {
      mfaEnabled: false,
      accessKeysPresent: false,
      passwordPresent: false,
      signingCertificatesPresent: false,
    },
    passwordPolicy: { present: true, minimumPasswordLength: 14, passwordReusePrevention: 24 },
    rootMfaVirtual: false,
    usersWithDirectPolicies: ['alice'],
  };
  const v3 = (accountFacts: unknown, schemaVersion = 3) =>
    AccountReportSchema.safeParse({ ...sampleAccountReport(), schemaVersion, accountFacts }).success;

  it('accepts a v3 report with every fact, and one with none', () => {
    expect(v3(facts)).toBe(true);
    expect(AccountReportSchema.safeParse({ ...sampleAccountReport(), schemaVersion: 3 }).success).toBe(true);
  });

  it('accepts unknown facts left out: a summary without AccountPasswordPresent, no policy, no device', () => {
    expect(v3({ rootCredentials: { mfaEnabled: true, accessKeysPresent: false } })).toBe(true);
    expect(v3({ passwordPolicy: { present: false } })).toBe(true);
    expect(v3({})).toBe(true);
  });

  it('rejects accountFacts in a v1 or v2 report, where the field does not exist', () => {
    expect(v3(facts, 1)).toBe(false);
    expect(v3(facts, 2)).toBe(false);
  });

  it('rejects an unknown fact, a count where a boolean belongs, and an unknown root credential key', () => {
    expect(v3({ ...facts, rootAccessKeys: 1 })).toBe(false);
    expect(v3({ rootCredentials: { mfaEnabled: 1 } })).toBe(false);
    expect(v3({ rootCredentials: { passwordPresent: true, x509: true } })).toBe(false);
  });

  it("rejects a password policy outside IAM's ranges or mixing absent with a length", () => {
    expect(v3({ passwordPolicy: { present: true, minimumPasswordLength: 5 } })).toBe(false);
    expect(v3({ passwordPolicy: { present: true, minimumPasswordLength: 129 } })).toBe(false);
    expect(v3({ passwordPolicy: { present: true, minimumPasswordLength: 14.5 } })).toBe(false);
    expect(
      v3({ passwordPolicy: { present: true, minimumPasswordLength: 14, passwordReusePrevention: 25 } }),
    ).toBe(false);
    expect(v3({ passwordPolicy: { present: false, minimumPasswordLength: 14 } })).toBe(false);
    expect(v3({ passwordPolicy: { present: true } })).toBe(false);
  });

  it('bounds the users with direct policies: names as IAM allows them, at most the users bound', () => {
    expect(v3({ usersWithDirectPolicies: ['x'.repeat(65)] })).toBe(false);
    expect(v3({ usersWithDirectPolicies: [''] })).toBe(false);
    const many = Array.from({ length: PAYLOAD_BOUNDS.users + 1 }, (_, i) => `u${i}`);
    expect(v3({ usersWithDirectPolicies: many })).toBe(false);
  });

  it('assembles a v3 part set with its facts, keeping its version', () => {
    const report = { ...sampleAccountReport({ schemaVersion: 3 }), accountFacts: facts } as never;
    const parts = splitReport(report);
    expect(parts[0]?.schemaVersion).toBe(3);
    expect(assembleParts(parts)).toEqual(report);
  });
});

describe('AccountReportSchema v2 grants', () => {
  const withGrant = (grant: unknown, count = 1) => {
    const report = sampleAccountReport();
    const privileges = (report.privileges ?? []).map((p) => ({
      ...p,
      grants: { admin: Array.from({ length: count }, () => grant) },
    }));
    return AccountReportSchema.safeParse({ ...report, schemaVersion: 2, privileges }).success;
  };

  it('accepts a grant with a path and IAM actions', () => {
    expect(
      withGrant({
        path: 'sts:AssumeRole role/ops → AdministratorAccess',
        actions: ['sts:AssumeRole', 'iam:PutUserPolicy'],
      }),
    ).toBe(true);
  });

  it('rejects a grant whose action is not service:Action', () => {
    expect(withGrant({ path: 'x', actions: ['PutUserPolicy'] })).toBe(false);
    expect(withGrant({ path: 'x', actions: ['iam:Put*'] })).toBe(false);
  });

  it('rejects a grant path over 512 characters, more than 16 actions or no action', () => {
    expect(withGrant({ path: 'x'.repeat(513), actions: ['iam:PutUserPolicy'] })).toBe(false);
    expect(withGrant({ path: 'x', actions: Array.from({ length: 17 }, () => 'iam:PutUserPolicy') })).toBe(
      false,
    );
    expect(withGrant({ path: 'x', actions: [] })).toBe(false);
  });

  it('rejects more than 8 grants for one flag', () => {
    expect(withGrant({ path: 'x', actions: ['iam:PutUserPolicy'] }, 8)).toBe(true);
    expect(withGrant({ path: 'x', actions: ['iam:PutUserPolicy'] }, 9)).toBe(false);
  });

  it('rejects an unknown field in a grant', () => {
    expect(withGrant({ path: 'x', actions: ['iam:PutUserPolicy'], scp: 'p-1' })).toBe(false);
  });
});

describe('parsePartDetail', () => {
  const [part] = splitReport(sampleAccountReport());

  it('returns the detail when it matches the schema', () => {
    expect(parsePartDetail(JSON.parse(JSON.stringify(part)))).toEqual(part);
  });

  it('names the offending fields when the detail is invalid', () => {
    expect(() => parsePartDetail({ ...part, accountId: '123', encoding: 'gzip' })).toThrow(
      /accountId: must be a 12-digit AWS account id.*encoding/,
    );
  });

  it('rejects the detail when it carries an unknown field', () => {
    expect(() => parsePartDetail({ ...part, forwardedBy: 'x' })).toThrow(ContractError);
  });

  it('rejects the detail when part exceeds parts', () => {
    expect(() => parsePartDetail({ ...part!, part: 2, parts: 1 })).toThrow(/part must not exceed parts/);
  });

  it('rejects the detail when it is not an object', () => {
    expect(() => parsePartDetail('{"schemaVersion":1}')).toThrow(ContractError);
  });
});

describe('splitReport', () => {
  it('produces one part when the report is small', () => {
    const parts = splitReport(sampleAccountReport());
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({
      schemaVersion: 1,
      accountId: ACCOUNT,
      reportId: reportIdFor(ACCOUNT, GENERATED),
      part: 1,
      parts: 1,
      encoding: 'gzip+base64',
    });
  });

  it('counts Source, DetailType and the Detail JSON as the entry size when sizing parts', () => {
    const [part] = splitReport(sampleAccountReport());
    expect(entryBytes(part!)).toBe(
      Buffer.byteLength(EVENT_SOURCE) +
        Buffer.byteLength(EVENT_DETAIL_TYPE) +
        Buffer.byteLength(JSON.stringify(part)),
    );
  });

  it('keeps every entry within the limit when the report needs many parts', () => {
    const report = sampleAccountReport({}, manyUsers(2_000, 'a-rather-long-user-name-for-testing-'));
    const parts = splitReport(report, { maxEntryBytes: 5_000 });
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) expect(entryBytes(part)).toBeLessThanOrEqual(5_000);
    expect(parts.map((p) => p.part)).toEqual(parts.map((_, i) => i + 1));
    expect(new Set(parts.map((p) => p.sha256)).size).toBe(1);
  });

  it('refuses a report larger than the hub accepts instead of publishing parts bound to be rejected', () => {
    const huge = sampleAccountReport({ credentialReportCsv: 'x'.repeat(MAX_DECODED_PAYLOAD_BYTES) });
    expect(() => splitReport(huge)).toThrow(/over the hub's limit of/);
  });

  it('uses the default limit of DEFAULT_MAX_ENTRY_BYTES when no limit is given', () => {
    const report = sampleAccountReport({}, manyUsers(5_000));
    for (const part of splitReport(report))
      expect(entryBytes(part)).toBeLessThanOrEqual(DEFAULT_MAX_ENTRY_BYTES);
  });

  it('hashes the decoded JSON payload when computing sha256', () => {
    const report = sampleAccountReport();
    const [part] = splitReport(report);
    const json = gunzipSync(Buffer.from(part!.payload, 'base64'));
    expect(JSON.parse(json.toString('utf8'))).toEqual(report);
    expect(createHash('sha256').update(json).digest('hex')).toBe(part!.sha256);
  });

  it('refuses to split when the limit leaves no room for the payload', () => {
    expect(() => splitReport(sampleAccountReport(), { maxEntryBytes: 300 })).toThrow(
      /leaves no room for payload/,
    );
  });

  it('refuses to split when the report does not match the schema', () => {
    expect(() => splitReport({ ...sampleAccountReport(), accountId: 'abc' })).toThrow(ContractError);
  });
});

describe('assembleParts', () => {
  const report = sampleAccountReport({}, manyUsers(400));
  const parts = splitReport(report, { maxEntryBytes: 4_000 });

  it('returns the original report when given every part in any order', () => {
    expect(parts.length).toBeGreaterThan(2);
    expect(assembleParts([...parts].reverse())).toEqual(report);
  });

  it('assembles a v1 part set and a v2 one with grants, each keeping its version', () => {
    const v1 = sampleAccountReport({ schemaVersion: 1 });
    const v2 = sampleAccountReport({ schemaVersion: 2 });
    const granted = {
      ...v2,
      privileges: (v2.privileges ?? []).map((p) => ({
        ...p,
        grants: { s3Read: [{ path: 'AmazonS3ReadOnlyAccess', actions: ['s3:GetObject'] }] },
      })),
    };
    const p1 = splitReport(v1);
    expect(p1[0]?.schemaVersion).toBe(1);
    expect(assembleParts(p1)).toEqual(v1);
    const p2 = splitReport(granted);
    expect(p2[0]?.schemaVersion).toBe(2);
    expect(assembleParts(p2)).toEqual(granted);
  });

  it('rejects a set whose parts claim another schema version than the payload', () => {
    const v1 = splitReport(sampleAccountReport({ schemaVersion: 1 }));
    expect(() => assembleParts(v1.map((p) => ({ ...p, schemaVersion: 2 as const })))).toThrow(
      /schema version 1, its parts say 2/,
    );
  });

  it('rejects a gzip bomb without inflating it past the decoded-size limit', () => {
    // 200 MB of one byte gzips to ~200 KB: one event from any principal of the organization.
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x61), { level: 9 }).toString('base64');
    const detail: PartDetail = { ...parts[0]!, part: 1, parts: 1, payload: bomb };
    const before = process.memoryUsage().rss;
    expect(() => assembleParts([detail])).toThrow(
      new RegExp(`not valid gzip \\(or exceeds ${MAX_DECODED_PAYLOAD_BYTES} bytes\\)`),
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
  });

  it('rejects a part set whose joined payload is larger than any report can be, before joining it', () => {
    const slice = 'A'.repeat(1_048_576);
    const count = Math.ceil((MAX_DECODED_PAYLOAD_BYTES * 4) / 3 / slice.length) + 2;
    expect(count).toBeLessThanOrEqual(MAX_PARTS);
    const big = Array.from({ length: count }, (_, i) => ({
      ...parts[0]!,
      part: i + 1,
      parts: count,
      payload: slice,
    }));
    expect(() => assembleParts(big)).toThrow(/base64 characters, over the \d+ a report may have/);
  });

  it('rejects a part whose payload could not fit one EventBridge entry', () => {
    expect(() => assembleParts([{ ...parts[0]!, parts: 1, payload: 'A'.repeat(1_048_580) }])).toThrow(
      ContractError,
    );
  });

  it('names the missing parts when the set is incomplete', () => {
    expect(() => assembleParts(parts.filter((p) => p.part !== 2))).toThrow(
      /incomplete: missing part\(s\) 2 of/,
    );
  });

  it('rejects the set when a part is duplicated', () => {
    expect(() => assembleParts([...parts, parts[0]!])).toThrow(/duplicate part\(s\) 1/);
  });

  it('rejects the set when parts come from different reports', () => {
    const other = splitReport(
      sampleAccountReport({ collectedTime: '2024-05-01T09:00:00.000Z' }, manyUsers(400)),
      {
        maxEntryBytes: 4_000,
      },
    );
    const mixed = [other[0]!, ...parts.slice(1)];
    expect(() => assembleParts(mixed)).toThrow(/disagree on (collectedTime|sha256)/);
  });

  it('rejects the set when a payload character inside the compressed data was changed', () => {
    const tampered = parts.map((p) =>
      p.part === 2 ? { ...p, payload: (p.payload[0] === 'A' ? 'B' : 'A') + p.payload.slice(1) } : p,
    );
    expect(() => assembleParts(tampered)).toThrow(ContractError);
  });

  it('rejects the set when a payload is not base64', () => {
    const tampered = parts.map((p) => (p.part === 1 ? { ...p, payload: `${p.payload.slice(0, -1)}!` } : p));
    expect(() => assembleParts(tampered)).toThrow(/payload: must be base64 text/);
  });

  it('rejects the set when the declared sha256 does not match the payload', () => {
    const wrong = parts.map((p) => ({ ...p, sha256: '0'.repeat(64) }));
    expect(() => assembleParts(wrong)).toThrow(/sha256 .* does not match/);
  });

  it('rejects the set when the payload is for another account than the parts', () => {
    const foreign = splitReport(sampleAccountReport({ accountId: '210987654321' }));
    const relabelled: PartDetail[] = foreign.map((p) => ({
      ...p,
      accountId: ACCOUNT,
      reportId: reportIdFor(ACCOUNT, p.generatedTime),
    }));
    expect(() => assembleParts(relabelled)).toThrow(/is for account 210987654321, not 123456789012/);
  });

  it('rejects the set when the reportId does not belong to the account and time', () => {
    const renamed = parts.map((p) => ({ ...p, reportId: '123456789012-20200101T000000Z' }));
    expect(() => assembleParts(renamed)).toThrow(/does not match account and generatedTime/);
  });

  it('rejects an empty list of parts', () => {
    expect(() => assembleParts([])).toThrow(/no parts/);
  });

  it('rejects the set when the payload is valid gzip of JSON that breaks the schema', () => {
    const json = Buffer.from(JSON.stringify({ ...report, accessKeys: 'none' }));
    const sha256 = createHash('sha256').update(json).digest('hex') as string;
    const detail: PartDetail = {
      ...parts[0]!,
      part: 1,
      parts: 1,
      sha256,
      payload: gzipSync(json).toString('base64'),
    };
    expect(() => assembleParts([detail])).toThrow(/Invalid account report payload: accessKeys/);
  });
});

describe('payload bounds', () => {
  const valid = sampleAccountReport();
  const rejects = (report: object): boolean => !AccountReportSchema.safeParse(report).success;

  it('rejects a user name, key id, service name or warning longer than IAM ever writes', () => {
    const key = valid.accessKeys[0]!;
    expect(rejects({ ...valid, accessKeys: [{ ...key, userName: 'u'.repeat(65) }] })).toBe(true);
    expect(rejects({ ...valid, accessKeys: [{ ...key, accessKeyId: 'A'.repeat(129) }] })).toBe(true);
    expect(rejects({ ...valid, accessKeys: [{ ...key, accessKeyId: 'akia-not-an-id!!' }] })).toBe(true);
    expect(rejects({ ...valid, accessKeys: [{ ...key, lastUsedService: 's'.repeat(129) }] })).toBe(true);
    expect(rejects({ ...valid, warnings: ['w'.repeat(PAYLOAD_BOUNDS.warning + 1)] })).toBe(true);
    expect(rejects({ ...valid, warnings: Array(PAYLOAD_BOUNDS.warnings + 1).fill('w') })).toBe(true);
    const p = valid.privileges![0]!;
    expect(rejects({ ...valid, privileges: [{ ...p, userName: 'u'.repeat(65) }] })).toBe(true);
    expect(
      rejects({ ...valid, privileges: [{ ...p, grantingPolicies: { admin: ['p'.repeat(2_049)] } }] }),
    ).toBe(true);
  });

  it('accepts the longest values IAM allows', () => {
    const key = valid.accessKeys[0]!;
    expect(
      rejects({ ...valid, accessKeys: [{ ...key, userName: 'u'.repeat(64), accessKeyId: 'A'.repeat(128) }] }),
    ).toBe(false);
  });

  it('fits any number of collector warnings into the bounds, saying how many were left out', () => {
    const many = Array.from({ length: 1_000 }, (_, i) => `policy ${i} ${'x'.repeat(i)}`);
    const bounded = boundWarnings(many);
    expect(bounded).toHaveLength(PAYLOAD_BOUNDS.warnings);
    expect(bounded.at(-1)).toBe(`… and ${1_000 - PAYLOAD_BOUNDS.warnings + 1} more warnings`);
    expect(bounded.every((w) => w.length <= PAYLOAD_BOUNDS.warning)).toBe(true);
    expect(rejects({ ...valid, warnings: bounded })).toBe(false);
    expect(boundWarnings(['short'])).toEqual(['short']);
  });
});
