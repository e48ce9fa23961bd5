import { PassThrough } from 'node:stream';
import * as z from 'zod';
import { runMerge } from '../../../core/merge';
import { findingUid, OCSF_VERSION, ocsfFinding, OcsfWriter } from '../../../core/ocsf';
import type { OpenFinding } from '../../../core/findings-csv';
import { FINDING_CONTROLS } from '../../../core/finding-ids';
import { sampleOrganization } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';

const NOW = new Date('2026-11-21T06:00:00Z');

/**
 * The attributes OCSF 1.3.0 requires of a Compliance Finding (ocsf/ocsf-schema tag 1.3.0): base_event
 * `metadata` and `severity_id`; classification `activity_id`, `category_uid`, `class_uid`, `type_uid`;
 * occurrence `time`; the cloud profile's `cloud` (`provider`); finding `finding_info` (`uid`, `title`);
 * compliance_finding `compliance` (`standards`); metadata `product` (`vendor_name`) and `version`; an
 * `_entity` (each resource, the account) needs at least one of `name`, `uid`. Enumerations as the
 * dictionary defines them.
 */
const entity = z
  .object({ uid: z.string().min(1).optional(), name: z.string().min(1).optional() })
  .passthrough()
  .refine((e) => e.uid !== undefined || e.name !== undefined, 'an entity needs uid or name');
const OcsfComplianceFindingSchema = z
  .object({
    class_uid: z.literal(2003),
    category_uid: z.literal(2),
    activity_id: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(99)]),
    type_uid: z.number().int(),
    time: z.number().int().positive(),
    severity_id: z.union(
      [0, 1, 2, 3, 4, 5, 6, 99].map((n) => z.literal(n)) as [z.ZodLiteral<number>, ...z.ZodLiteral<number>[]],
    ),
    status_id: z
      .union(
        [0, 1, 2, 3, 4, 5, 6, 99].map((n) => z.literal(n)) as [
          z.ZodLiteral<number>,
          ...z.ZodLiteral<number>[],
        ],
      )
      .optional(),
    metadata: z
      .object({
        version: z.string().regex(/^\d+\.\d+\.\d+$/),
        product: z.object({ vendor_name: z.string().min(1) }).passthrough(),
      })
      .passthrough(),
    finding_info: z
      .object({
        uid: z.string().min(1),
        title: z.string().min(1),
        first_seen_time: z.number().int().optional(),
      })
      .passthrough(),
    compliance: z
      .object({
        standards: z.array(z.string().min(1)).min(1),
        status_id: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
      })
      .passthrough(),
    cloud: z
      .object({ provider: z.string().min(1), account: entity.optional(), org: entity.optional() })
      .passthrough(),
    resources: z.array(entity).optional(),
  })
  .passthrough()
  .refine(
    (r) => r.type_uid === r.class_uid * 100 + r.activity_id,
    'type_uid = class_uid * 100 + activity_id',
  );

const keyFinding: OpenFinding = {
  accountId: '111111111111',
  accountName: 'prod',
  ouPath: 'Root/Prod',
  findingId: 'key-not-rotated',
  severity: 'medium',
  controls: FINDING_CONTROLS['key-not-rotated'],
  userName: 'alice',
  userArn: 'arn:aws:iam::111111111111:user/alice',
  accessKeyId: 'AKIAEXAMPLE000000001',
  slot: 1,
  firstSeen: '2026-10-01T06:00:00.000Z',
  detail: '140 days old, rotate within 90 days',
  path: '',
  organization: false,
};

async function ocsfOfSample(): Promise<Record<string, unknown>[]> {
  const { metadata, reports } = sampleOrganization(NOW);
  const ocsf = new PassThrough();
  let text = '';
  ocsf.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const drain = (): PassThrough => new PassThrough().resume() as PassThrough;
  await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, metadata, reports },
    { credentialReport: drain(), accessKeys: drain(), ocsf },
  );
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('ocsfFinding', () => {
  it('states the schema version, class, severity, compliance ids and the user and key as resources', () => {
    const record = ocsfFinding(keyFinding, NOW);
    expect(OcsfComplianceFindingSchema.safeParse(record).success).toBe(true);
    expect(record).toMatchObject({
      class_uid: 2003,
      type_uid: 200301,
      severity_id: 3,
      time: NOW.getTime(),
      metadata: { version: OCSF_VERSION, product: { name: 'credreport', vendor_name: 'credreport' } },
      finding_info: {
        uid: 'credreport/111111111111/alice/AKIAEXAMPLE000000001/key-not-rotated',
        title: 'key-not-rotated',
        first_seen_time: Date.parse('2026-10-01T06:00:00.000Z'),
      },
      compliance: { status_id: 3 },
      cloud: { provider: 'AWS', account: { uid: '111111111111', name: 'prod' } },
      resources: [
        { type: 'AwsIamUser', uid: 'arn:aws:iam::111111111111:user/alice' },
        { type: 'AwsIamAccessKey', uid: 'AKIAEXAMPLE000000001' },
      ],
    });
    const compliance = record.compliance as { standards: string[]; control: string };
    expect(compliance.standards).toContain('CIS AWS Foundations Benchmark v5.0.0');
    expect(compliance.control).toContain('CIS AWS Foundations Benchmark v5.0.0 1.13');
    expect(compliance.control).toContain('Security Hub IAM.3');
  });

  it('keeps the uid stable for the same account, user, key and finding and different otherwise', () => {
    expect(findingUid(keyFinding)).toBe(findingUid({ ...keyFinding, detail: 'other', firstSeen: '' }));
    expect(findingUid(keyFinding)).not.toBe(
      findingUid({ ...keyFinding, accessKeyId: 'AKIAEXAMPLE000000002' }),
    );
    expect(findingUid(keyFinding)).not.toBe(findingUid({ ...keyFinding, findingId: 'credential-unused' }));
  });

  it('names an organization finding by its organization and still satisfies the required attributes', () => {
    const record = ocsfFinding(
      {
        accountId: 'o-abc123def4',
        findingId: 'root-access-not-centralized',
        severity: 'high',
        controls: { cisV7: '2.1.1' },
        accessKeyId: '',
        firstSeen: NOW.toISOString(),
        detail: 'centralized root access is not enabled',
        path: '',
        organization: true,
      },
      NOW,
    );
    expect(OcsfComplianceFindingSchema.safeParse(record).success).toBe(true);
    expect(record).toMatchObject({
      severity_id: 4,
      cloud: { provider: 'AWS', org: { uid: 'o-abc123def4' } },
      resources: [{ type: 'AwsOrganizationsOrganization', uid: 'o-abc123def4' }],
    });
  });

  it('fails the schema when a required attribute is missing (the schema can fail)', () => {
    const record = ocsfFinding(keyFinding, NOW);
    const withoutInfo = { ...record };
    delete withoutInfo.finding_info;
    expect(OcsfComplianceFindingSchema.safeParse(withoutInfo).success).toBe(false);
    expect(OcsfComplianceFindingSchema.safeParse({ ...record, compliance: { standards: [] } }).success).toBe(
      false,
    );
  });
});

describe('findings.ocsf.json from the pipeline', () => {
  it('holds one valid record per open finding of the sample organization, each uid once', async () => {
    const records = await ocsfOfSample();
    expect(records.length).toBeGreaterThan(10);
    for (const record of records) {
      const parsed = OcsfComplianceFindingSchema.safeParse(record);
      if (!parsed.success) throw new Error(`${JSON.stringify(record)}: ${parsed.error.message}`);
    }
    const uids = records.map((r) => (r.finding_info as { uid: string }).uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('escapes nothing into a second line: a hostile user name stays inside its JSON record', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (d: Buffer) => (text += d.toString('utf8')));
    const writer = new OcsfWriter(sink, NOW);
    await writer.write({ ...keyFinding, userName: 'evil\n{"class_uid":1}' });
    await writer.end();
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(writer.count).toBe(1);
  });
});

describe('writable', () => {
  it('ends the wait when the stream drains, and at once when it is destroyed', async () => {
    const { PassThrough } = await import('node:stream');
    const { writable } = await import('../../../core/stream-wait');
    const full = new PassThrough({ highWaterMark: 1 });
    full.write('xx');
    const drained = writable(full);
    full.read();
    await expect(drained).resolves.toBeUndefined();
    const stuck = new PassThrough({ highWaterMark: 1 });
    stuck.write('xx');
    const waiting = writable(stuck);
    stuck.destroy();
    await expect(waiting).resolves.toBeUndefined();
    await expect(writable(stuck)).resolves.toBeUndefined();
  });
});
