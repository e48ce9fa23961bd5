/**
 * A principal's power from its own policies, without any escalation: admin (`*` on `*` not stripped of
 * every IAM write) and the data reads of DATA_READ_PROBES.
 */
import type { PolicySet, Probe } from './policy-set';
import { addProofs, emptyPower, policyLabel, proof, type Power, type Proof } from './privilege-proofs';
import type { PrivilegeKind } from './types';

export type DataKind = Exclude<PrivilegeKind, 'admin'>;

/**
 * What counts as reading data, per kind. The resource is the action's resource type with every
 * account/region/name wildcarded, so a grant on any one bucket/table/database counts.
 * - S3: GetObject and GetObjectVersion (reading old versions reads data too).
 * - RDS: IAM database authentication (`rds-db:connect`), the Data API (ExecuteStatement,
 *   BatchExecuteStatement, legacy ExecuteSql), and ModifyDBInstance / ModifyDBCluster, which can reset
 *   the master user password and so read every row. Not counted: rds:DownloadDBLogFilePortion (logs,
 *   not table data — it is in ReadOnlyAccess), snapshot copy/share/export (needs further permissions).
 * - DynamoDB: GetItem, BatchGetItem, Query, Scan, PartiQLSelect (what PartiQL ExecuteStatement /
 *   BatchExecuteStatement SELECTs are authorised as — there is no dynamodb:ExecuteStatement action),
 *   GetRecords (streams carry item images), ExportTableToPointInTime (copies a table to S3), and the
 *   same reads through a DAX cluster (dax:GetItem, BatchGetItem, Query, Scan: DAX answers them with the
 *   table's items under its own role).
 * Not counted: S3 Object Lambda (`s3-object-lambda:GetObject` also needs lambda:InvokeFunction) and
 * grants written only on S3 access point ARNs. `{partition}` is the principal's partition.
 */
export const DATA_READ_PROBES: Readonly<Record<DataKind, readonly Probe[]>> = {
  s3Read: [
    { action: 's3:GetObject', resource: 'arn:{partition}:s3:::*/*' },
    { action: 's3:GetObjectVersion', resource: 'arn:{partition}:s3:::*/*' },
  ],
  rdsRead: [
    { action: 'rds-db:connect', resource: 'arn:{partition}:rds-db:*:*:dbuser:*/*' },
    { action: 'rds-data:ExecuteStatement', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds-data:BatchExecuteStatement', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds-data:ExecuteSql', resource: 'arn:{partition}:rds:*:*:cluster:*' },
    { action: 'rds:ModifyDBInstance', resource: 'arn:{partition}:rds:*:*:db:*' },
    { action: 'rds:ModifyDBCluster', resource: 'arn:{partition}:rds:*:*:cluster:*' },
  ],
  dynamodbRead: [
    { action: 'dynamodb:GetItem', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:BatchGetItem', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:Query', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:Scan', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:PartiQLSelect', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dynamodb:GetRecords', resource: 'arn:{partition}:dynamodb:*:*:table/*/stream/*' },
    { action: 'dynamodb:ExportTableToPointInTime', resource: 'arn:{partition}:dynamodb:*:*:table/*' },
    { action: 'dax:GetItem', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:BatchGetItem', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:Query', resource: 'arn:{partition}:dax:*:*:cache/*' },
    { action: 'dax:Scan', resource: 'arn:{partition}:dax:*:*:cache/*' },
  ],
};

/**
 * The IAM permission writes of a `*`-on-`*` principal: it stops being an administrator only when every
 * one of them is unconditionally denied (any one left lets it grant itself the rest, directly or through
 * a role it then assumes). `{self}` is the principal's ARN, `{role}` and `{policy}` a generic role /
 * customer managed policy ARN in its account. Each one left is a separate grant of the admin flag.
 */
export const ADMIN_SENTINELS: readonly Probe[] = [
  { action: 'iam:PutUserPolicy', resource: '{self}' },
  { action: 'iam:AttachUserPolicy', resource: '{self}' },
  { action: 'iam:PutRolePolicy', resource: '{role}' },
  { action: 'iam:AttachRolePolicy', resource: '{role}' },
  { action: 'iam:CreatePolicyVersion', resource: '{policy}' },
];

export interface Self {
  readonly arn: string;
  readonly partition: string;
  readonly account: string;
}

export function fillProbe(probe: Probe, self: Self): Probe {
  if (!probe.resource.includes('{')) return probe;
  const resource = probe.resource
    .replace('{partition}', self.partition)
    .replace('{self}', self.arn)
    .replace('{role}', `arn:${self.partition}:iam::${self.account}:role/credreport-probe`)
    .replace('{policy}', `arn:${self.partition}:iam::${self.account}:policy/credreport-probe`);
  return { ...probe, resource };
}

const DATA_KINDS = Object.keys(DATA_READ_PROBES) as DataKind[];
const DATA_ACTIONS: Readonly<Record<DataKind, readonly string[]>> = {
  s3Read: DATA_READ_PROBES.s3Read.map((p) => p.action),
  rdsRead: DATA_READ_PROBES.rdsRead.map((p) => p.action),
  dynamodbRead: DATA_READ_PROBES.dynamodbRead.map((p) => p.action),
};

/** The data-read probes filled for one partition (they name no principal). */
const dataProbes = (partition: string): Readonly<Record<DataKind, readonly Probe[]>> => {
  let probes = DATA_PROBES_BY_PARTITION.get(partition);
  if (probes === undefined) {
    const filled = {} as Record<DataKind, readonly Probe[]>;
    for (const kind of DATA_KINDS) {
      filled[kind] = DATA_READ_PROBES[kind].map((p) => ({
        ...p,
        resource: p.resource.replace('{partition}', partition),
      }));
    }
    probes = filled;
    DATA_PROBES_BY_PARTITION.set(partition, probes);
  }
  return probes;
};
const DATA_PROBES_BY_PARTITION = new Map<string, Readonly<Record<DataKind, readonly Probe[]>>>();

/**
 * One kind's data-read proofs: read from the policies' answers only, so shared by principals with the
 * same policies unless one of them depends on the principal for that kind's actions.
 */
function dataProofs(set: PolicySet, kind: DataKind, partition: string): readonly Proof[] {
  const power = emptyPower();
  for (const probe of dataProbes(partition)[kind]) {
    const sources = set.granting(probe).sort();
    if (sources.length === 0) continue;
    addProofs(power, kind, [proof([], policyLabel(sources[0] as string), [probe.action], sources)]);
  }
  return power[kind];
}

/** Admin from `*` on `*` (matched by the boundary) and the data reads, each a proof ending in its policy. */
export function directPower(set: PolicySet, self: Self): Power {
  const power = emptyPower();
  for (const kind of DATA_KINDS) {
    const proofs = set.shared(`data-read\u0000${kind}\u0000${self.partition}`, DATA_ACTIONS[kind], () =>
      dataProofs(set, kind, self.partition),
    );
    // A shared list is never changed: each principal's power gets its own copy.
    power[kind] = [...proofs];
  }
  const full = set.fullAccessGrants().sort();
  if (full.length > 0 && set.boundaryAllowsEverything()) {
    const end = policyLabel(full[0] as string);
    const left = ADMIN_SENTINELS.filter((p) => !set.deniedEverywhere(fillProbe(p, self)));
    // A sentinel a Deny leaves open is one grant; a `*`-on-`*` principal without any is a power user.
    addProofs(
      power,
      'admin',
      left.map((p) => proof([], end, [p.action], full)),
    );
  }
  return power;
}
