import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for each wildcard `resources` entry on `scope` (a role
 * or policy), naming each finding exactly as cdk-nag does (`Resource::<Bucket.Arn>/incoming/*`), so that
 * a new wildcard elsewhere is still reported.
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
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
  }
}

/** Why every credreport Lambda is on Node.js 22 rather than the newest runtime (AwsSolutions-L1). */
export const RUNTIME_ACKNOWLEDGEMENT = {
  id: 'AwsSolutions-L1',
  reason:
    'Node.js 22 (supported into 2027) is the runtime the project builds, bundles (esbuild target node22) and tests for; moving to a newer runtime is a deliberate upgrade with its own test run.',
} as const;
