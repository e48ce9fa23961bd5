import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for each wildcard `resources` entry on `scope`, naming
 * each finding exactly as cdk-nag does (`Resource::<Bucket.Arn>/incoming/*`), so that a wildcard other
 * than these is still reported.
 *
 * cdk-nag names an IAM5 finding by the wildcard alone, never by statement or action, and an
 * acknowledgement covers `scope` and everything under it. `Resource::*` acknowledged on a role would
 * therefore also hide any later grant on `*` to that role (say `iam:CreateAccessKey`): it is refused
 * here on anything but a policy of exactly one statement (see {@link grantAcknowledged}).
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly string[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  for (const resource of resources) {
    const flat = flattenCfnReference(stack.resolve(resource));
    if (!flat.includes('*')) continue;
    if (flat === '*' && !isOneStatementPolicy(scope)) {
      throw new Error(
        `acknowledgeWildcardResources ${scope.node.path}: Resource::* may be acknowledged only on a policy of one statement (use grantAcknowledged)`,
      );
    }
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
  }
}

/**
 * Grants `statement` to `role` in an AWS::IAM::Policy of its own (construct id: the statement's sid, under
 * the role, so whatever depends on the role waits for it) and acknowledges AwsSolutions-IAM5 for that
 * statement's wildcard resources on that policy only, with `reason`. The role and its default policy carry
 * no IAM5 acknowledgement, so a wildcard granted to the role any other way is reported by cdk-nag, and a
 * statement added to this policy later fails synthesis (the acknowledgement was given for one statement).
 * Every other change of a statement is caught by the exact-statements test (test/stacks/iam-exact.test.ts,
 * docs/ARCHITECTURE.md §9).
 */
export function grantAcknowledged(
  role: iam.Role,
  statement: iam.PolicyStatement,
  reason: string,
): iam.Policy {
  if (statement.sid === undefined || statement.sid === '') {
    throw new Error(`grantAcknowledged ${role.node.path}: the statement needs a sid (it names the policy)`);
  }
  if (statement.effect !== iam.Effect.ALLOW || statement.actions.some((a) => a.includes('*'))) {
    throw new Error(
      `grantAcknowledged ${role.node.path}/${statement.sid}: only Allow statements with exact actions are granted this way`,
    );
  }
  const policy = new iam.Policy(role, statement.sid, { statements: [statement], roles: [role] });
  acknowledgeWildcardResources(policy, statement.resources, reason);
  policy.node.addValidation({
    validate: () =>
      policy.document.statementCount === 1
        ? []
        : [
            `${policy.node.path}: holds ${policy.document.statementCount} statements; its AwsSolutions-IAM5 acknowledgement is for ${statement.sid} alone (grant anything else separately)`,
          ],
  });
  return policy;
}

function isOneStatementPolicy(scope: IConstruct): boolean {
  return scope instanceof iam.Policy && scope.document.statementCount === 1;
}

/** Why every credreport Lambda is on Node.js 22 rather than the newest runtime (AwsSolutions-L1). */
export const RUNTIME_ACKNOWLEDGEMENT = {
  id: 'AwsSolutions-L1',
  reason:
    'Node.js 22 (supported into 2027) is the runtime the project builds, bundles (esbuild target node22) and tests for; moving to a newer runtime is a deliberate upgrade with its own test run.',
} as const;
