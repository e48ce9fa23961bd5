/**
 * Centralized root access of the organization (IAM "root access management"), read from the hub's or
 * `collect`'s own account and cached with the organization metadata (`rootAccess` in org/metadata.json):
 *
 * - IAM `ListOrganizationsFeatures` (least privilege `iam:ListOrganizationsFeatures`, resource `*`): the
 *   features enabled, `RootCredentialsManagement` and `RootSessions`. Only the management account and
 *   IAM's delegated administrator for centralized root access (registered for `iam.amazonaws.com`) may
 *   call it; any other account, including a delegated administrator of Organizations or of StackSets
 *   only, gets AccountNotManagementOrDelegatedAdministrator: `unreadable`, never a pass.
 *   ServiceAccessNotEnabled (IAM has no trusted access) and OrganizationNotInAllFeaturesMode mean no
 *   feature can be enabled: `read` with none enabled. OrganizationNotFound and AccessDenied are
 *   `unreadable`; any other failure keeps the cached answer (else `unreadable`).
 * - Organizations `ListAWSServiceAccessForOrganization` (`organizations:ListAWSServiceAccessForOrganization`,
 *   resource `*`; callable from the management account or any delegated administrator): whether
 *   `iam.amazonaws.com` has trusted access, which centralized root access requires. A refusal leaves it
 *   unknown; it never decides a finding on its own.
 */
import { IAMClient, ListOrganizationsFeaturesCommand } from '@aws-sdk/client-iam';
import { ListAWSServiceAccessForOrganizationCommand } from '@aws-sdk/client-organizations';
import { errorName, isAccessDenied } from '../core/aws-errors';
import { ROOT_ACCESS_FEATURES, type OrgRootAccess, type RootAccessFeature } from '../core/types';
import { allPages, type OrgCallContext, send } from './org-calls';

/** The service principal whose trusted access centralized root access needs. */
export const IAM_SERVICE_PRINCIPAL = 'iam.amazonaws.com';

export interface RootAccessResult {
  readonly rootAccess: OrgRootAccess;
  /** Non-fatal gaps, safe to show. */
  readonly warnings: readonly string[];
}

export interface FetchRootAccessOptions {
  /** The Organizations call context of the metadata fetch (counting, throttling retries). */
  readonly ctx: OrgCallContext;
  /** An IAM client of the same account. */
  readonly iam: IAMClient;
  readonly now: Date;
  /** The cached answer, kept when this run's request fails for a reason that says nothing. */
  readonly cached?: OrgRootAccess;
}

/** The IAM error code without the SDK's `Exception` suffix (the API reference names them without it). */
const codeOf = (error: unknown): string => errorName(error).replace(/Exception$/, '');

const KNOWN = new Set<string>(ROOT_ACCESS_FEATURES);

/** Reads both answers; never throws (every failure is an `unreadable` state or a warning). */
export async function fetchRootAccess(opts: FetchRootAccessOptions): Promise<RootAccessResult> {
  const { ctx, iam, now } = opts;
  const fetchedAt = now.toISOString();
  const warnings: string[] = [];

  let iamTrustedAccess: boolean | undefined;
  try {
    const principals = await allPages(
      ctx,
      'ListAWSServiceAccessForOrganization',
      (NextToken) =>
        ctx.client.send(new ListAWSServiceAccessForOrganizationCommand({ NextToken, MaxResults: 20 })),
      (p) => p.EnabledServicePrincipals,
    );
    iamTrustedAccess = principals.some((p) => p.ServicePrincipal === IAM_SERVICE_PRINCIPAL);
  } catch (error) {
    warnings.push(
      `Organizations trusted access could not be read (${errorName(error)})${isAccessDenied(error) ? ': the role lacks organizations:ListAWSServiceAccessForOrganization' : ''}`,
    );
  }
  const trusted = iamTrustedAccess === undefined ? {} : { iamTrustedAccess };

  try {
    // An IAM call: retried on throttling like the Organizations ones, but not counted among them.
    const answer = await send({ ...ctx, calls: {} }, 'ListOrganizationsFeatures', () =>
      iam.send(new ListOrganizationsFeaturesCommand({})),
    );
    const enabledFeatures = (answer.EnabledFeatures ?? []).filter((f): f is RootAccessFeature =>
      KNOWN.has(f),
    );
    return { rootAccess: { status: 'read', enabledFeatures, ...trusted, fetchedAt }, warnings };
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ServiceAccessNotEnabled') {
      return {
        rootAccess: {
          status: 'read',
          enabledFeatures: [],
          iamTrustedAccess: false,
          detail: 'IAM has no trusted access in AWS Organizations',
          fetchedAt,
        },
        warnings,
      };
    }
    if (code === 'OrganizationNotInAllFeaturesMode') {
      return {
        rootAccess: {
          status: 'read',
          enabledFeatures: [],
          ...trusted,
          detail: 'the organization does not have all features enabled',
          fetchedAt,
        },
        warnings,
      };
    }
    const unreadable = (detail: string): RootAccessResult => ({
      rootAccess: { status: 'unreadable', ...trusted, detail, fetchedAt },
      warnings: [...warnings, `Centralized root access not readable from this account: ${detail}`],
    });
    if (code === 'AccountNotManagementOrDelegatedAdministrator') {
      return unreadable(
        "not the management account nor IAM's delegated administrator for root access management (AccountNotManagementOrDelegatedAdministrator)",
      );
    }
    if (code === 'OrganizationNotFound') return unreadable('no organization is associated with this account');
    if (isAccessDenied(error)) {
      return unreadable(`${errorName(error)}: the role lacks iam:ListOrganizationsFeatures`);
    }
    if (opts.cached && opts.cached.status === 'read') {
      return {
        rootAccess: opts.cached,
        warnings: [
          ...warnings,
          `Centralized root access not refreshed (${errorName(error)}); the answer of ${opts.cached.fetchedAt} is used`,
        ],
      };
    }
    return unreadable(`ListOrganizationsFeatures failed (${errorName(error)})`);
  }
}
