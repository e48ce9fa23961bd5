import * as z from 'zod';
import { MAX_CONTROL_POLICY_CHARS } from './scp';
import { CONTROL_POLICY_TYPES, ROOT_ACCESS_FEATURES, type OrgMetadata } from './types';

const attachmentsSchema = z.record(
  z.string().max(128),
  z.object({ policyIds: z.array(z.string().max(128)).max(1_000), fetchedAt: z.string() }),
);
const policyTypeStateSchema = z.object({
  status: z.enum(['enabled', 'not-enabled', 'unreadable']),
  detail: z.string().max(500).optional(),
  attachments: attachmentsSchema,
});

/** SCPs and RCPs as cached (core/types.ts `OrgControlPolicies`); each document is bounded as Organizations bounds it, with margin. */
export const OrgControlPoliciesSchema = z.object({
  scp: policyTypeStateSchema,
  rcp: policyTypeStateSchema,
  policies: z.record(
    z.string().max(128),
    z.object({
      name: z.string().max(128),
      type: z.enum(CONTROL_POLICY_TYPES),
      content: z.string().max(MAX_CONTROL_POLICY_CHARS),
      fetchedAt: z.string(),
    }),
  ),
});

/** Centralized root access as cached (core/types.ts `OrgRootAccess`). */
export const OrgRootAccessSchema = z.object({
  status: z.enum(['read', 'unreadable']),
  enabledFeatures: z.array(z.enum(ROOT_ACCESS_FEATURES)).max(ROOT_ACCESS_FEATURES.length).optional(),
  iamTrustedAccess: z.boolean().optional(),
  detail: z.string().max(500).optional(),
  fetchedAt: z.string(),
});

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
  controlPolicies: OrgControlPoliciesSchema.optional(),
  rootAccess: OrgRootAccessSchema.optional(),
  alternateContacts: z
    .record(
      z.string().regex(/^\d{12}$/),
      z.discriminatedUnion('status', [
        z.object({ status: z.literal('found'), email: z.string().max(320), fetchedAt: z.string() }),
        z.object({ status: z.literal('none'), fetchedAt: z.string() }),
        z.object({
          status: z.enum(['denied', 'failed']),
          detail: z.string().max(500),
          fetchedAt: z.string(),
        }),
      ]),
    )
    .optional(),
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
