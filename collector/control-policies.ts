/**
 * Service control policies and resource control policies on every account's path, for
 * core/scp.ts (docs/ARCHITECTURE.md §7 "SCPs and RCPs"), cached in org/metadata.json like tags.
 *
 * Call pattern, per policy type (SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY):
 * - whether the type is enabled comes from the root's `PolicyTypes` in the ListRoots answer the tree
 *   walk already has (no call). A type that is not enabled limits nothing and is not read; when the
 *   attachments listing answers PolicyTypeNotEnabledException the type is treated the same way;
 * - `ListPoliciesForTarget` (with `Filter`, paginated) for the root and every OU on each run (they are
 *   few and a change there applies to many accounts), and for each ACTIVE account that is new since
 *   the cache or whose cached attachments are older than the tag age, oldest first, within the budget;
 * - `DescribePolicy` once per distinct policy id of the run, unless the cached content is younger than
 *   the same age and the listed name still matches (the change check: Organizations returns no version
 *   or modification time, so a content change is seen within one age; an AWS-managed policy such as
 *   FullAWSAccess is never re-read).
 * AccessDenied on the root makes the type `unreadable` with a warning (its attachments are dropped,
 * so nothing is cleared on stale data); any other failure of one target keeps its cached attachments
 * (or none: the accounts below it are unknown) and is counted in one warning. Nothing here fails the
 * run.
 */
import {
  DescribePolicyCommand,
  ListPoliciesForTargetCommand,
  PolicySummary,
  Root,
} from '@aws-sdk/client-organizations';
import { errorName, isAccessDenied } from '../core/aws-errors';
import { mapLimit } from '../core/concurrency';
import { MAX_CONTROL_POLICY_CHARS } from '../core/scp';
import {
  ControlPolicyAttachments,
  ControlPolicyType,
  ControlPolicyTypeState,
  OrgControlPolicies,
  StoredControlPolicy,
} from '../core/types';
import { allPages, OrgCallContext, send } from './org-calls';

export interface ControlPolicyFetch {
  readonly ctx: OrgCallContext;
  readonly roots: readonly Root[];
  /** Every OU id found by the tree walk. */
  readonly ouIds: readonly string[];
  /** ACTIVE accounts: only they report, so only their chains are needed. */
  readonly accountIds: readonly string[];
  readonly cached?: OrgControlPolicies;
  readonly now: Date;
  readonly maxAgeMs: number;
  readonly concurrency: number;
  /** True once no new account request may start (the run's budget). */
  readonly outOfBudget: () => boolean;
}

export interface ControlPolicyResult {
  readonly controlPolicies: OrgControlPolicies;
  readonly warnings: readonly string[];
}

/** Most distinct policies read per run (Organizations allows 1,000 SCPs and 1,000 RCPs). */
export const MAX_CONTROL_POLICIES = 2_000;
/** Organizations caps policy names at 128 characters. */
const MAX_POLICY_NAME = 128;

const LABEL: Readonly<Record<ControlPolicyType, string>> = {
  SERVICE_CONTROL_POLICY: 'SCPs',
  RESOURCE_CONTROL_POLICY: 'RCPs',
};

/** Reads the attachments of both types and the content of every policy they name. */
export async function fetchControlPolicies(input: ControlPolicyFetch): Promise<ControlPolicyResult> {
  const warnings: string[] = [];
  const summaries = new Map<string, PolicySummary>();
  const scp = await fetchType(input, 'SERVICE_CONTROL_POLICY', input.cached?.scp, summaries, warnings);
  const rcp = await fetchType(input, 'RESOURCE_CONTROL_POLICY', input.cached?.rcp, summaries, warnings);
  const policies = await fetchPolicies(input, [scp, rcp], summaries, warnings);
  return { controlPolicies: { scp, rcp, policies }, warnings };
}

async function fetchType(
  input: ControlPolicyFetch,
  type: ControlPolicyType,
  cached: ControlPolicyTypeState | undefined,
  summaries: Map<string, PolicySummary>,
  warnings: string[],
): Promise<ControlPolicyTypeState> {
  const label = LABEL[type];
  const root = input.roots[0];
  const enabled = root?.PolicyTypes?.some((t) => t.Type === type && t.Status === 'ENABLED') ?? false;
  if (!root?.Id || !enabled) {
    if (type === 'SERVICE_CONTROL_POLICY') {
      warnings.push(`${label} are not enabled in the organization; no privilege is cleared by ${label}`);
    }
    return { status: 'not-enabled', detail: `${label} are not enabled`, attachments: {} };
  }
  const nowIso = input.now.toISOString();
  const list = async (targetId: string): Promise<ControlPolicyAttachments> => {
    const found = await allPages(
      input.ctx,
      'ListPoliciesForTarget',
      (NextToken) =>
        input.ctx.client.send(
          new ListPoliciesForTargetCommand({ TargetId: targetId, Filter: type, NextToken, MaxResults: 20 }),
        ),
      (p) => p.Policies,
    );
    const ids: string[] = [];
    for (const summary of found) {
      if (!summary.Id) continue;
      ids.push(summary.Id);
      summaries.set(summary.Id, summary);
    }
    return { policyIds: ids.sort(), fetchedAt: nowIso };
  };

  const attachments: Record<string, ControlPolicyAttachments> = {};
  try {
    attachments[root.Id] = await list(root.Id);
  } catch (error) {
    const name = errorName(error);
    if (name === 'PolicyTypeNotEnabledException') {
      return { status: 'not-enabled', detail: `${label} are not enabled`, attachments: {} };
    }
    const detail = isAccessDenied(error)
      ? `ListPoliciesForTarget was denied for ${label}`
      : `${label} could not be read (${name})`;
    warnings.push(`${detail}; no privilege is cleared by ${label}`);
    return { status: 'unreadable', detail, attachments: {} };
  }

  const previous = cached?.status === 'enabled' ? cached.attachments : {};
  const nowMs = input.now.getTime();
  const due: { id: string; age: number }[] = [];
  for (const id of input.accountIds) {
    const entry = previous[id];
    const fetchedMs = entry ? Date.parse(entry.fetchedAt) : Number.NaN;
    if (entry && !Number.isNaN(fetchedMs)) attachments[id] = entry;
    if (Number.isNaN(fetchedMs)) due.push({ id, age: Number.POSITIVE_INFINITY });
    else if (nowMs - fetchedMs >= input.maxAgeMs) due.push({ id, age: nowMs - fetchedMs });
  }
  due.sort((a, b) => b.age - a.age || a.id.localeCompare(b.id));

  let failed = 0;
  let outOfBudget = 0;
  const read = async (id: string): Promise<void> => {
    try {
      attachments[id] = await list(id);
    } catch (error) {
      if (errorName(error) === 'TargetNotFoundException') delete attachments[id];
      else {
        failed++;
        input.ctx.logger?.warn('Could not list control policies', {
          targetId: id,
          type,
          error: errorName(error),
        });
      }
    }
  };
  await mapLimit(input.ouIds, input.concurrency, async (id) => {
    const entry = previous[id];
    if (entry) attachments[id] = entry;
    await read(id);
  });
  await mapLimit(due, input.concurrency, async ({ id }) => {
    if (input.outOfBudget()) {
      outOfBudget++;
      return;
    }
    await read(id);
  });
  if (failed > 0) {
    warnings.push(
      `${label} of ${failed} target(s) could not be listed; cached attachments (or none) are used`,
    );
  }
  if (outOfBudget > 0) {
    warnings.push(
      `${label} of ${outOfBudget} account(s) not refreshed within the budget; cached attachments (or none) are used`,
    );
  }
  return { status: 'enabled', attachments: sortedRecord(attachments) };
}

async function fetchPolicies(
  input: ControlPolicyFetch,
  states: readonly ControlPolicyTypeState[],
  summaries: ReadonlyMap<string, PolicySummary>,
  warnings: string[],
): Promise<Record<string, StoredControlPolicy>> {
  const ids = new Set<string>();
  for (const state of states) {
    for (const attached of Object.values(state.attachments)) for (const id of attached.policyIds) ids.add(id);
  }
  const wanted = [...ids].sort();
  if (wanted.length > MAX_CONTROL_POLICIES) {
    warnings.push(
      `${wanted.length} control policies attached; only the first ${MAX_CONTROL_POLICIES} are read`,
    );
    wanted.length = MAX_CONTROL_POLICIES;
  }
  const cached = input.cached?.policies ?? {};
  const nowMs = input.now.getTime();
  const policies: Record<string, StoredControlPolicy> = {};
  let failed = 0;
  let tooLarge = 0;
  await mapLimit(wanted, input.concurrency, async (id) => {
    const previous = cached[id];
    const summary = summaries.get(id);
    const age = previous ? nowMs - Date.parse(previous.fetchedAt) : Number.NaN;
    const nameMatches = !summary?.Name || summary.Name.slice(0, MAX_POLICY_NAME) === previous?.name;
    if (previous && nameMatches && (summary?.AwsManaged === true || age < input.maxAgeMs)) {
      policies[id] = previous;
      return;
    }
    try {
      const answer = await send(input.ctx, 'DescribePolicy', () =>
        input.ctx.client.send(new DescribePolicyCommand({ PolicyId: id })),
      );
      const content = answer.Policy?.Content;
      const type = answer.Policy?.PolicySummary?.Type;
      if (
        typeof content !== 'string' ||
        (type !== 'SERVICE_CONTROL_POLICY' && type !== 'RESOURCE_CONTROL_POLICY')
      ) {
        failed++;
        return;
      }
      if (content.length > MAX_CONTROL_POLICY_CHARS) {
        tooLarge++;
        return;
      }
      policies[id] = {
        name: (answer.Policy?.PolicySummary?.Name ?? id).slice(0, MAX_POLICY_NAME),
        type,
        content,
        fetchedAt: input.now.toISOString(),
      };
    } catch (error) {
      failed++;
      // A cached copy is better than none: the policy was attached when last read.
      if (previous) policies[id] = previous;
      input.ctx.logger?.warn('Could not describe control policy', { policyId: id, error: errorName(error) });
    }
  });
  if (failed > 0)
    warnings.push(`${failed} control policy document(s) could not be read; cached copies (or none) are used`);
  if (tooLarge > 0) {
    warnings.push(
      `${tooLarge} control policy document(s) over ${MAX_CONTROL_POLICY_CHARS} characters ignored`,
    );
  }
  return sortedRecord(policies);
}

function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
