import * as z from 'zod';
import { DEFAULT_MAX_ENTRY_BYTES } from '../core/names';

/**
 * The member agent's environment. The CDK construct types its `environment` from `MemberAgentEnvironment`,
 * so a variable the handler needs cannot be missing from the stack.
 */
export const MemberAgentEnvSchema = z.object({
  /** Bus the parts are put on; a StackSet rule forwards them to the hub. */
  EVENT_BUS_NAME: z.string().min(1).default('default'),
  /** Largest PutEvents entry the agent builds, in bytes. */
  MAX_ENTRY_BYTES: z.coerce.number().int().min(16_384).max(1_048_576).default(DEFAULT_MAX_ENTRY_BYTES),
  /** Time the collection may take before giving up, in seconds (keep below the function timeout). */
  COLLECT_BUDGET_SECONDS: z.coerce.number().int().positive().default(600),
});

export type MemberAgentEnv = z.infer<typeof MemberAgentEnvSchema>;
/** What the stack must set: every key, as strings. */
export type MemberAgentEnvironment = { readonly [K in keyof MemberAgentEnv]: string };
