import { EntityType, GetAccountAuthorizationDetailsCommand, IAMClient } from '@aws-sdk/client-iam';
import type { GroupDetail, ManagedPolicyDetail, UserDetail } from '@aws-sdk/client-iam';
import { CallContext } from './iam-calls';
import type { AuthorizationDetails } from '../core/authorization-details';

/** Entity types the privilege evaluation needs (roles are not: role assumption is not modelled). */
export const AUTHORIZATION_FILTER: EntityType[] = [
  EntityType.User,
  EntityType.Group,
  EntityType.LocalManagedPolicy,
  EntityType.AWSManagedPolicy,
];

/**
 * One snapshot of users, groups and managed policies (GetAccountAuthorizationDetails, all pages, 1,000
 * items per page): a 5,000-user account takes a handful of calls instead of several per user. Policy
 * documents stay URL-encoded here; privileges.ts decodes them.
 */
export async function fetchAuthorizationDetails(
  iam: IAMClient,
  ctx: CallContext,
): Promise<AuthorizationDetails> {
  const users: UserDetail[] = [];
  const groups: GroupDetail[] = [];
  const policies: ManagedPolicyDetail[] = [];
  let marker: string | undefined;
  do {
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
    policies.push(...(page.Policies ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return { users, groups, policies };
}
