/**
 * The path columns of credential-report.csv and access-keys.csv (docs/ARCHITECTURE.md §6), also
 * findings.csv's `path` of `privileged-key` / `data-read-key`, summary.json's riskiest keys and the
 * digest's top risks: the shortest proving path the agent's evaluation produced (core/privilege-proofs.ts,
 * report schema v2 `grants`), or, for a flag SCPs or RCPs cleared, why (core/scp.ts). Pure.
 */
import { policyLabel } from './privilege-proofs';
import type { Grant, PrivilegeKind, UserPrivileges } from './types';

/** `admin_path` and `data_read_path` of one user ('' when the flag is false and nothing was cleared). */
export interface PrivilegePaths {
  readonly admin: string;
  readonly dataRead: string;
}

/** What SCPs and RCPs decided for one user (core/scp.ts `applyServiceControlPolicies`), and its grants. */
export interface ControlPolicyPaths {
  /** The grants SCPs were evaluated against (runMerge's `grantsOf`); default: the user's own `grants`. */
  readonly grants?: Readonly<Partial<Record<PrivilegeKind, readonly Grant[]>>>;
  /** Per kind cleared: why (`blocked by SCP p-abc123 DenyS3`). */
  readonly blocked?: Readonly<Partial<Record<PrivilegeKind, string>>>;
  /** Per kind still granted: the shortest grant the chain allows. */
  readonly allowed?: Readonly<Partial<Record<PrivilegeKind, string>>>;
}

type DataKind = Exclude<PrivilegeKind, 'admin'>;

/** The data kinds in the order ties go, each with the prefix that says which one `data_read_path` shows. */
export const DATA_PATH_PREFIXES: readonly (readonly [DataKind, string])[] = [
  ['s3Read', 's3'],
  ['rdsRead', 'rds'],
  ['dynamodbRead', 'dynamodb'],
];

/** Both paths of the root user, who can do anything without a policy. */
export const ROOT_PATH = 'root user';

/** Appended to a v1 report's path: its agent sent the granting policies only, no proving path. */
export const V1_PATH_NOTE = ' (v1 report: no path)';

export const NO_PATHS: PrivilegePaths = { admin: '', dataRead: '' };
const ROOT_PATHS: PrivilegePaths = { admin: ROOT_PATH, dataRead: ROOT_PATH };

/** Steps of a path text (`a → b → AdministratorAccess` has 3). */
const steps = (path: string): number => path.split(' → ').length;

/** The path of a granted kind: the shortest grant the chain allows, else the first grant, else (v1) a policy. */
function grantedPath(
  privileges: UserPrivileges,
  kind: PrivilegeKind,
  scp: ControlPolicyPaths | undefined,
): string {
  const grants = scp?.grants ?? privileges.grants;
  const path = scp?.allowed?.[kind] ?? grants?.[kind]?.[0]?.path;
  if (path !== undefined) return path;
  const policy = privileges.grantingPolicies[kind]?.[0];
  const label = policy === undefined ? 'granted' : policyLabel(policy);
  return grants === undefined ? `${label}${V1_PATH_NOTE}` : label;
}

/**
 * `admin_path` and `data_read_path` of a user. `data_read_path` is the shortest (fewest steps, then
 * fewest characters, then S3, RDS, DynamoDB) of the granted data kinds' paths, prefixed with its kind
 * (`s3: AmazonS3ReadOnlyAccess`); when no data kind is granted but SCPs or RCPs cleared some, each
 * cleared kind's reason (`s3: blocked by SCP p-abc123 DenyS3`, joined by `; `).
 */
export function privilegePaths(
  privileges: UserPrivileges | undefined,
  scp: ControlPolicyPaths | undefined,
  isRoot = false,
): PrivilegePaths {
  if (isRoot) return ROOT_PATHS;
  if (!privileges) return NO_PATHS;
  const admin = privileges.admin ? grantedPath(privileges, 'admin', scp) : (scp?.blocked?.admin ?? '');
  let best: { readonly prefix: string; readonly path: string } | undefined;
  for (const [kind, prefix] of DATA_PATH_PREFIXES) {
    if (!privileges[kind]) continue;
    const path = grantedPath(privileges, kind, scp);
    if (best === undefined || (steps(path) - steps(best.path) || path.length - best.path.length) < 0) {
      best = { prefix, path };
    }
  }
  let dataRead = best === undefined ? undefined : `${best.prefix}: ${best.path}`;
  if (dataRead === undefined) {
    const blocked = DATA_PATH_PREFIXES.flatMap(([kind, prefix]) => {
      const why = scp?.blocked?.[kind];
      return why === undefined ? [] : [`${prefix}: ${why}`];
    });
    dataRead = blocked.join('; ');
  }
  if (admin === '' && dataRead === '') return NO_PATHS;
  return { admin, dataRead };
}
