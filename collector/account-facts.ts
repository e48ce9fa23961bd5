/**
 * The account-level facts of a report (schema v3, docs/ARCHITECTURE.md §4): the root user's credentials
 * (GetAccountSummary), the password policy (GetAccountPasswordPolicy) and whether the root's MFA device is
 * virtual (ListVirtualMFADevices). Each read goes through the collection's CallContext (shared retries and
 * time budget); a read that is refused (AccessDenied) or fails leaves its fact unknown with a warning and
 * never fails the report. Only the budget error (CollectError) ends the collection.
 */
import {
  AssignmentStatusType,
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  IAMClient,
  ListVirtualMFADevicesCommand,
} from '@aws-sdk/client-iam';
import type { AuthorizationDetails } from '../core/authorization-details';
import { errorName, isAccessDenied, isNotFound } from '../core/aws-errors';
import { PAYLOAD_BOUNDS } from '../core/event-contract';
import type { AccountFacts, PasswordPolicyFact, RootCredentialFacts, UserTags } from '../core/types';
import { CallContext, CollectError } from './iam-calls';

/**
 * Upper bound on ListVirtualMFADevices pages (1,000 devices each): IAM allows 8 MFA devices per user and
 * 5,000 users by default (raisable to 10,000), so a genuine listing takes at most 80 pages.
 */
export const MAX_VIRTUAL_MFA_PAGES = 100;

/** IAM's default minimum password length, applied when a policy omits MinimumPasswordLength. */
const IAM_DEFAULT_MINIMUM_PASSWORD_LENGTH = 6;

export interface AccountFactsResult {
  /** Undefined when not one fact could be read. */
  readonly facts?: AccountFacts;
  /** One line per fact left unknown, in a fixed order. */
  readonly warnings: readonly string[];
}

/** A failed read: the budget error ends the collection, anything else leaves the fact unknown. */
function unknownFact(fact: string, operation: string, error: unknown): string {
  if (error instanceof CollectError) throw error;
  const why = isAccessDenied(error) ? 'access denied' : 'failed';
  return `${fact} unknown: ${operation} ${why} (${errorName(error)})`;
}

/** `AccountMFAEnabled` etc. → booleans; a key IAM leaves out of the answer stays unknown (absent). */
export function rootCredentialsOf(
  summary: Readonly<Record<string, number>> | undefined,
): RootCredentialFacts {
  const flag = (key: string): boolean | undefined => {
    const value = summary?.[key];
    return typeof value === 'number' && Number.isFinite(value) ? value > 0 : undefined;
  };
  const facts: Record<string, boolean> = {};
  const put = (name: keyof RootCredentialFacts, key: string): void => {
    const value = flag(key);
    if (value !== undefined) facts[name] = value;
  };
  put('mfaEnabled', 'AccountMFAEnabled');
  put('accessKeysPresent', 'AccountAccessKeysPresent');
  put('passwordPresent', 'AccountPasswordPresent');
  put('signingCertificatesPresent', 'AccountSigningCertificatesPresent');
  return facts;
}

async function readRootCredentials(iam: IAMClient, ctx: CallContext): Promise<RootCredentialFacts> {
  const answer = await ctx.call('GetAccountSummary', () => iam.send(new GetAccountSummaryCommand({})));
  return rootCredentialsOf(answer.SummaryMap);
}

/** The policy as the contract carries it; throws when IAM's answer is outside IAM's own ranges. */
async function readPasswordPolicy(iam: IAMClient, ctx: CallContext): Promise<PasswordPolicyFact> {
  let answer;
  try {
    answer = await ctx.call('GetAccountPasswordPolicy', () =>
      iam.send(new GetAccountPasswordPolicyCommand({})),
    );
  } catch (error) {
    // NoSuchEntity: the account has no password policy (IAM's defaults apply).
    if (!(error instanceof CollectError) && isNotFound(error)) return { present: false };
    throw error;
  }
  const policy = answer.PasswordPolicy;
  if (policy === undefined) throw new Error('GetAccountPasswordPolicy answered without a PasswordPolicy');
  const length = policy.MinimumPasswordLength ?? IAM_DEFAULT_MINIMUM_PASSWORD_LENGTH;
  const reuse = policy.PasswordReusePrevention ?? 0;
  if (
    !Number.isInteger(length) ||
    length < PAYLOAD_BOUNDS.passwordLengthMin ||
    length > PAYLOAD_BOUNDS.passwordLengthMax ||
    !Number.isInteger(reuse) ||
    reuse < 0 ||
    reuse > PAYLOAD_BOUNDS.passwordReuseMax
  ) {
    throw Object.assign(new Error('password policy outside IAM ranges'), {
      name: 'UnexpectedPasswordPolicy',
    });
  }
  return {
    present: true,
    minimumPasswordLength: length,
    ...(reuse > 0 ? { passwordReusePrevention: reuse } : {}),
  };
}

/** True when an assigned virtual MFA device belongs to the root user (`User.Arn` ends `:root`). */
async function readRootMfaVirtual(iam: IAMClient, ctx: CallContext): Promise<boolean> {
  let marker: string | undefined;
  let pages = 0;
  do {
    if (pages >= MAX_VIRTUAL_MFA_PAGES) {
      throw Object.assign(new Error(`still truncated after ${MAX_VIRTUAL_MFA_PAGES} pages`), {
        name: 'TooManyPages',
      });
    }
    pages++;
    const page = await ctx.call('ListVirtualMFADevices', () =>
      iam.send(
        new ListVirtualMFADevicesCommand({
          AssignmentStatus: AssignmentStatusType.Assigned,
          MaxItems: 1000,
          Marker: marker,
        }),
      ),
    );
    if ((page.VirtualMFADevices ?? []).some((device) => device.User?.Arn?.endsWith(':root') === true)) {
      return true;
    }
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return false;
}

/** Users with a managed policy attached directly or an inline policy (CIS "permissions through groups"). */
export function usersWithDirectPolicies(auth: AuthorizationDetails): string[] {
  const names: string[] = [];
  for (const user of auth.users) {
    if (user.UserName === undefined) continue;
    if ((user.AttachedManagedPolicies?.length ?? 0) > 0 || (user.UserPolicyList?.length ?? 0) > 0) {
      names.push(user.UserName);
    }
  }
  return names;
}

/**
 * The tags of the users that have any, from the snapshot (for the staged deactivation's opt-out tag,
 * core/deactivation.ts). Undefined, with a warning, when they pass the payload's bounds: unknown tags make
 * the hub plan nothing for the account rather than miss an opt-out.
 */
export function userTagsOf(auth: AuthorizationDetails): { userTags?: UserTags[]; warning?: string } {
  const userTags: UserTags[] = [];
  let pairs = 0;
  for (const user of auth.users) {
    if (user.UserName === undefined || (user.Tags?.length ?? 0) === 0) continue;
    const tags: Record<string, string> = {};
    for (const tag of user.Tags ?? []) {
      if (tag.Key === undefined) continue;
      if (tag.Key.length > PAYLOAD_BOUNDS.tagKey || (tag.Value ?? '').length > PAYLOAD_BOUNDS.tagValue) {
        return { warning: `user tags not reported: a tag of ${user.UserName} is longer than IAM allows` };
      }
      tags[tag.Key] = tag.Value ?? '';
    }
    pairs += Object.keys(tags).length;
    if (Object.keys(tags).length > PAYLOAD_BOUNDS.tagsPerUser || pairs > PAYLOAD_BOUNDS.userTagPairs) {
      return {
        warning: `user tags not reported: more than ${PAYLOAD_BOUNDS.userTagPairs} in all (or ${PAYLOAD_BOUNDS.tagsPerUser} on one user)`,
      };
    }
    userTags.push({ userName: user.UserName, tags });
  }
  return { userTags };
}

/**
 * Reads the three IAM facts concurrently (the users with direct policies come from the authorization
 * snapshot: {@link usersWithDirectPolicies}). Throws only CollectError (the collection's time budget).
 */
export async function collectAccountFacts(iam: IAMClient, ctx: CallContext): Promise<AccountFactsResult> {
  const [root, policy, virtual] = await Promise.allSettled([
    readRootCredentials(iam, ctx),
    readPasswordPolicy(iam, ctx),
    readRootMfaVirtual(iam, ctx),
  ]);
  const warnings: string[] = [];
  const facts: { -readonly [K in keyof AccountFacts]: AccountFacts[K] } = {};
  if (root.status === 'fulfilled') facts.rootCredentials = root.value;
  else warnings.push(unknownFact('root credentials', 'GetAccountSummary', root.reason));
  if (policy.status === 'fulfilled') facts.passwordPolicy = policy.value;
  else warnings.push(unknownFact('password policy', 'GetAccountPasswordPolicy', policy.reason));
  if (virtual.status === 'fulfilled') facts.rootMfaVirtual = virtual.value;
  else warnings.push(unknownFact('root MFA device type', 'ListVirtualMFADevices', virtual.reason));
  return { ...(Object.keys(facts).length > 0 ? { facts } : {}), warnings };
}
