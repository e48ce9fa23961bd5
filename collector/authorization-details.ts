import { EntityType, GetAccountAuthorizationDetailsCommand, IAMClient } from '@aws-sdk/client-iam';
import type { GroupDetail, ManagedPolicyDetail, RoleDetail, UserDetail } from '@aws-sdk/client-iam';
import { CredreportError } from '../core/errors';
import { CallContext } from './iam-calls';
import type { AuthorizationDetails } from '../core/authorization-details';

/** Entity types the privilege evaluation needs (roles: role assumption and PassRole paths). */
export const AUTHORIZATION_FILTER: EntityType[] = [
  EntityType.User,
  EntityType.Group,
  EntityType.Role,
  EntityType.LocalManagedPolicy,
  EntityType.AWSManagedPolicy,
];

/**
 * Upper bound on snapshot pages: IAM's own quotas (5,000 users, 300 groups, 5,000 roles by default —
 * raisable to 10,000 — about 1,400 AWS managed and 5,000 customer managed policies) fit in far fewer
 * pages of 1,000; a longer listing (a misbehaving endpoint that never stops truncating) is refused.
 */
export const MAX_AUTHORIZATION_PAGES = 64;

/** The snapshot could not be read whole; privileges are then not collected (the report stays whole). */
export class AuthorizationSnapshotError extends CredreportError {}

/**
 * One snapshot of users, groups, roles and managed policies (GetAccountAuthorizationDetails, all pages,
 * 1,000 items per page): a 5,000-user account takes a handful of calls instead of several per user.
 * Policy documents stay URL-encoded here; core/privilege-snapshot.ts decodes them.
 */
export async function fetchAuthorizationDetails(
  iam: IAMClient,
  ctx: CallContext,
): Promise<AuthorizationDetails> {
  const users: UserDetail[] = [];
  const groups: GroupDetail[] = [];
  const roles: RoleDetail[] = [];
  const policies: ManagedPolicyDetail[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    if (pages >= MAX_AUTHORIZATION_PAGES) {
      throw new AuthorizationSnapshotError(
        `GetAccountAuthorizationDetails still truncated after ${MAX_AUTHORIZATION_PAGES} pages`,
      );
    }
    pages++;
    const page = await ctx.call('GetAccountAuthorizationDetails', () =>
      iam.send(
        new GetAccountAuthorizationDetailsCommand({
          Filter: AUTHORIZATION_FILTER,
          MaxItems: 1000,
          Marker: marker,
        }),
      ),
    );
    users.push(...(page.UserDetailList ?? []));
    groups.push(...(page.GroupDetailList ?? []));
    roles.push(...(page.RoleDetailList ?? []));
    policies.push(...(page.Policies ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return { users, groups, roles, policies };
}
