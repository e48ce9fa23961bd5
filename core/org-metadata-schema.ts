import * as z from 'zod';

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
