/**
 * `--owners-out DIR` of collect, merge and demo: the per-owner digests (core/owners.ts, core/owner-digest.ts)
 * written as HTML files to a folder, one per owner who is due, named as the hub names them in a dry run
 * (`<address>-<hash>.html`). Owners come from the account tags (`--owner-tag-keys`, default `Owner`), the
 * alternate SECURITY contacts cached in the metadata (`collect` does not read them; a metadata file written
 * by the hub's cache has them), then `--default-owner`; `--owner-allowed-domains` restricts them as
 * `ownerAllowedDomains` does in the hub (optional here: nothing is sent).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SEVERITIES, type Severity } from '../core/finding-ids';
import { renderOwnerDigest } from '../core/owner-digest';
import {
  checkOwnerAddress,
  DEFAULT_OWNER_MIN_SEVERITY,
  DEFAULT_OWNER_TAG_KEYS,
  isValidDomain,
  ownerFileName,
  dueOwners,
  resolveOwners,
  type OwnerPolicy,
} from '../core/owners';
import type { Summary } from '../core/summary';
import type { OrgMetadata } from '../core/types';
import { optionHelp, parseChoiceOption, parseListOption } from './args';
import { UsageError } from './command';

/** The owner options, shared by collect, merge and demo. */
export const OWNER_OPTIONS = {
  'owners-out': { type: 'string' },
  'owner-tag-keys': { type: 'string' },
  'default-owner': { type: 'string' },
  'owner-allowed-domains': { type: 'string' },
  'owner-min-severity': { type: 'string' },
} as const;

/** Help lines of {@link OWNER_OPTIONS}. */
export const OWNER_HELP = [
  optionHelp(
    '--owners-out DIR',
    'also write one digest per account owner who is due (their accounts only) to DIR',
  ),
  optionHelp(
    '--owner-tag-keys K,…',
    `account tags naming the owner, tried in order (default ${DEFAULT_OWNER_TAG_KEYS.join(',')})`,
  ),
  optionHelp('--default-owner ADDR', 'owner of accounts no tag or cached alternate security contact names'),
  optionHelp('--owner-allowed-domains D,…', 'refuse owner addresses outside these domains (default: any)'),
  optionHelp(
    '--owner-min-severity S',
    `open findings at this severity or above make an owner due (${SEVERITIES.join(', ')}; default ${DEFAULT_OWNER_MIN_SEVERITY}); new findings always do`,
  ),
].join('\n');

export interface OwnerOutput {
  readonly dir: string;
  readonly policy: OwnerPolicy;
  readonly minSeverity: Severity;
}

type OwnerValues = { readonly [K in keyof typeof OWNER_OPTIONS]?: string };

/** The owner options, or undefined without `--owners-out`; throws UsageError naming the option. */
export function parseOwnerOptions(
  values: OwnerValues,
  resolveDir: (dir: string) => string,
): OwnerOutput | undefined {
  const dir = values['owners-out'];
  if (dir === undefined) {
    const stray = (Object.keys(OWNER_OPTIONS) as (keyof OwnerValues)[]).find((k) => values[k] !== undefined);
    if (stray) throw new UsageError(`option --${stray} needs --owners-out DIR`);
    return undefined;
  }
  const domains =
    values['owner-allowed-domains'] !== undefined
      ? parseListOption('owner-allowed-domains', values['owner-allowed-domains']).map((d) => d.toLowerCase())
      : [];
  const bad = domains.filter((d) => !isValidDomain(d));
  if (bad.length > 0) throw new UsageError(`option --owner-allowed-domains: not a domain: ${bad.join(', ')}`);
  const fallback = values['default-owner'];
  if (fallback !== undefined) {
    const check = checkOwnerAddress(fallback, domains);
    if (!check.ok) {
      throw new UsageError(
        `option --default-owner: ${check.reason === 'invalid-address' ? 'not a plain email address' : 'outside --owner-allowed-domains'}, got '${fallback}'`,
      );
    }
  }
  return {
    dir: resolveDir(dir),
    policy: {
      tagKeys:
        values['owner-tag-keys'] !== undefined
          ? parseListOption('owner-tag-keys', values['owner-tag-keys'])
          : [...DEFAULT_OWNER_TAG_KEYS],
      ...(fallback !== undefined ? { defaultOwner: fallback } : {}),
      allowedDomains: domains,
    },
    minSeverity:
      values['owner-min-severity'] !== undefined
        ? parseChoiceOption('owner-min-severity', values['owner-min-severity'], SEVERITIES)
        : DEFAULT_OWNER_MIN_SEVERITY,
  };
}

/** The run's `partitionOf` (core/merge.ts) for the owners of `metadata`. */
export function ownerPartitionOf(
  metadata: OrgMetadata | undefined,
  out: OwnerOutput,
): (accountId: string) => string | undefined {
  const resolution = resolveOwners(metadata, metadata?.alternateContacts, out.policy);
  return (accountId) => resolution.byAccount.get(accountId)?.owner;
}

/** Writes the digest of every due owner to `out.dir`; returns the paths written. */
export async function writeOwnerDigests(
  out: OwnerOutput,
  partitions: ReadonlyMap<string, Summary> | undefined,
  organizationLabel: string,
): Promise<string[]> {
  await mkdir(out.dir, { recursive: true });
  const paths: string[] = [];
  for (const [owner, summary] of dueOwners(partitions ?? new Map<string, Summary>(), out.minSeverity)) {
    const path = join(out.dir, ownerFileName(owner));
    await writeFile(path, renderOwnerDigest(owner, summary, organizationLabel).html);
    paths.push(path);
  }
  return paths;
}
