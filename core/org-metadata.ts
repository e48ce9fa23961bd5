import * as z from 'zod';
import type { OrgMetadata } from './types';

/**
 * Schema of organization metadata as stored in org/metadata.json and written by
 * `credreport collect --metadata-out` (an {@link OrgMetadata}). Unknown fields are dropped.
 */
export const OrgMetadataSchema = z.object({
  organizationId: z.string().optional(),
  managementAccountId: z.string().optional(),
  fetchedAt: z.string(),
  accounts: z.array(
    z.object({
      id: z.string().regex(/^\d{12}$/),
      name: z.string(),
      email: z.string(),
      state: z.string(),
      joinedTime: z.string().optional(),
      ouPath: z.string(),
      ouIdPath: z.array(z.string()),
      tags: z.record(z.string(), z.string()),
    }),
  ),
  tagsFetchedAt: z.record(z.string(), z.string()).optional(),
});

/**
 * ACTIVE accounts under any of `targetOuIds` (a root id, or an empty list, means every account), plus
 * `alwaysInclude` (the hub's own account, which StackSets never deploy to). Sorted, no duplicates.
 */
export function selectExpectedAccounts(
  metadata: OrgMetadata,
  targetOuIds: readonly string[],
  alwaysInclude: readonly string[] = [],
): string[] {
  const all = targetOuIds.length === 0 || targetOuIds.some((id) => id.startsWith('r-'));
  const targets = new Set(targetOuIds);
  const selected = new Set<string>(alwaysInclude);
  for (const account of metadata.accounts) {
    if (account.state !== 'ACTIVE') continue;
    if (all || account.ouIdPath.some((id) => targets.has(id))) selected.add(account.id);
  }
  return [...selected].sort();
}
