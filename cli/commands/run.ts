/**
 * `credreport run`: invokes the hub's digest Lambda now (RequestResponse) and prints the summary it
 * returns — coverage, findings, whether the email went out.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { z } from 'zod';
import { errorMessage, errorName, isAccessDenied } from '../../core/aws-errors';
import { CredreportError } from '../../core/errors';
import { DEFAULT_HUB_STACK_NAME, HUB_OUTPUTS } from '../../core/names';
import { FINDING_IDS } from '../../core/types';
import { SEVERITIES, severityRank } from '../../core/finding-ids';
import {
  FAIL_ON_HELP,
  FAIL_ON_OPTION,
  OUTPUT_HELP,
  OUTPUT_OPTIONS,
  parseCommandLine,
  parseDateOption,
  parseFailOnOption,
  parseOutputOptions,
} from '../args';
import { AwsSessionFactory, createAwsSession, readStackOutput } from '../aws';
import { Command, CommandIo, EXIT, EXIT_HELP, exitStatusFor, UsageError } from '../command';

/** The digest could not be invoked, failed, or answered something that is not a digest result. */
export class DigestRunError extends CredreportError {}

export interface RunCommandDeps {
  readonly aws: AwsSessionFactory;
}

/** What the digest handler returns (see DigestResult in aggregator/digest.ts). */
export const DigestResultSchema = z.object({
  ok: z.boolean(),
  summaryKey: z.string(),
  coverage: z.object({
    expected: z.number(),
    reporting: z.number(),
    missing: z.number(),
    complete: z.boolean(),
  }),
  findings: z.record(z.string(), z.number()),
  /** Absent from digests deployed before it was added; `--fail-on` needs it. */
  openFindings: z.record(z.string(), z.number()).optional(),
  email: z.enum(['sent', 'skipped', 'failed']),
  error: z.string().optional(),
});
export type DigestResult = z.infer<typeof DigestResultSchema>;

/** Every option `run` accepts (its `--help` documents each one). */
export const RUN_OPTIONS = {
  stack: { type: 'string' },
  function: { type: 'string' },
  now: { type: 'string' },
  profile: { type: 'string' },
  region: { type: 'string' },
  ...FAIL_ON_OPTION,
  ...OUTPUT_OPTIONS,
} as const;

const HELP = `Usage: credreport run [options]

Runs the digest now, as the schedule would (it writes latest/ and runs/date=…/
in the hub bucket and sends the email when recipients are configured), waits
for it to finish and prints what it returned: coverage, findings, whether the
email was sent, where the summary is.

  --stack NAME         hub stack whose ${HUB_OUTPUTS.digestFunctionName} output names the
                       function (default ${DEFAULT_HUB_STACK_NAME})
  --function NAME      the digest function itself (no CloudFormation call)
  --now TIME           ISO 8601 time the digest evaluates findings at
                       (default: the function's clock)
  --profile NAME       named profile (default: the default credential chain)
  --region REGION      region of the hub (default: AWS_REGION or the profile's
                       region)
${FAIL_ON_HELP}
${OUTPUT_HELP}
                       (--json prints the result as the function returned it)

Exit status ${EXIT.incomplete}: the digest ran but coverage is incomplete (its
coverage.complete, the same rule as merge and collect). Exit status ${EXIT.error}: the
digest raised an error or returned ok: false (the email failed), or could not
be invoked.
${EXIT_HELP}
`;

/** Human-readable lines for a digest result. */
export function formatDigestResult(result: DigestResult, functionName: string): string {
  const { coverage } = result;
  const findingIds = [
    ...FINDING_IDS.filter((id) => id in result.findings),
    ...Object.keys(result.findings)
      .filter((id) => !(FINDING_IDS as readonly string[]).includes(id))
      .sort(),
  ];
  const findings = findingIds
    .map((id) => [id, result.findings[id] ?? 0] as const)
    .filter(([, count]) => count > 0)
    .map(([id, count]) => `${id} ${count}`);
  return [
    `digest ${functionName}: ${result.ok ? 'ok' : 'FAILED'}`,
    `  coverage: ${coverage.reporting} of ${coverage.expected} accounts reporting` +
      (coverage.missing > 0 ? `, ${coverage.missing} missing` : '') +
      (coverage.complete ? '' : ' (incomplete)'),
    `  findings: ${findings.length > 0 ? findings.join(', ') : 'none'}`,
    ...(result.openFindings
      ? [`  open findings: ${SEVERITIES.map((s) => `${result.openFindings?.[s] ?? 0} ${s}`).join(', ')}`]
      : []),
    `  email: ${result.email}`,
    `  summary: ${result.summaryKey}`,
    ...(result.error ? [`  error: ${result.error}`] : []),
    '',
  ].join('\n');
}

function parseFunctionError(payload: string): string {
  try {
    const parsed = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof parsed.errorType === 'string' ? parsed.errorType : undefined;
    const message = typeof parsed.errorMessage === 'string' ? parsed.errorMessage : undefined;
    if (type || message) return [type, message].filter(Boolean).join(': ');
  } catch {
    // Not JSON (e.g. a runtime crash message): show it as it is.
  }
  return payload.trim() || '(no error payload)';
}

async function runRun(deps: RunCommandDeps, argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandLine(argv, RUN_OPTIONS);
  const mode = parseOutputOptions(values);
  const failOn = parseFailOnOption(values['fail-on']);
  if (values.function !== undefined && values.stack !== undefined) {
    throw new UsageError('--function and --stack cannot be used together (--function needs no stack)');
  }
  const now = values.now === undefined ? undefined : parseDateOption('now', values.now);
  const session = deps.aws({
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
  });
  try {
    await session.region(); // a clear error now rather than 'Region is missing' from a client
    const stack = values.stack ?? DEFAULT_HUB_STACK_NAME;
    const functionName =
      values.function ??
      (await readStackOutput(session.cloudformation(), stack, HUB_OUTPUTS.digestFunctionName));
    if (!mode.quiet) io.stderr.write(`run: invoking ${functionName} (waits for the digest to finish)…\n`);
    const payload = JSON.stringify(now ? { now: now.toISOString() } : {});
    const started = performance.now();
    let response;
    try {
      response = await session.lambda().send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(payload),
        }),
      );
    } catch (error) {
      const name = errorName(error);
      if (name === 'ResourceNotFoundException') {
        throw new DigestRunError(
          `function '${functionName}' not found (pass --function, --stack or --region)`,
          {
            cause: error,
          },
        );
      }
      if (isAccessDenied(error)) {
        throw new DigestRunError(
          `not allowed to invoke '${functionName}' (lambda:InvokeFunction): ${errorMessage(error)}`,
          {
            cause: error,
          },
        );
      }
      throw new DigestRunError(`cannot invoke '${functionName}': ${name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    if (mode.verbose) {
      const calls =
        values.function === undefined
          ? 'CloudFormation DescribeStacks ×1, Lambda Invoke ×1'
          : 'Lambda Invoke ×1';
      io.stderr.write(
        `run: ${functionName} (version ${response.ExecutedVersion ?? 'unknown'}) answered in ${Math.round(performance.now() - started)} ms, status ${response.StatusCode ?? 'unknown'}; API calls: ${calls}\n`,
      );
    }
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : '';
    if (response.FunctionError) {
      io.stderr.write(
        `credreport run: the digest failed (${response.FunctionError}): ${parseFunctionError(text)}\n`,
      );
      return EXIT.error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new DigestRunError(`${functionName} returned something that is not JSON`, { cause: error });
    }
    const parsed = DigestResultSchema.safeParse(json);
    if (!parsed.success) {
      throw new DigestRunError(
        `${functionName} returned something that is not a digest result (is it the digest function?): ${parsed.error.issues[0]?.message ?? ''}`,
        { cause: parsed.error },
      );
    }
    const result = parsed.data;
    // --json prints what the function returned, fields this CLI does not know included.
    if (mode.json) io.stdout.write(`${JSON.stringify(json)}\n`);
    else if (!mode.quiet) io.stdout.write(formatDigestResult(result, functionName));
    if (!result.ok) {
      io.stderr.write(
        `credreport run: the digest reported a failure: ${result.error ?? 'no reason given'}\n`,
      );
      return EXIT.error;
    }
    if (failOn !== undefined) {
      const open = result.openFindings;
      if (!open) {
        throw new DigestRunError(
          `${functionName} does not report open findings by severity (deployed before --fail-on existed): redeploy the hub`,
        );
      }
      const count = SEVERITIES.filter((s) => severityRank(s) <= severityRank(failOn)).reduce(
        (sum, s) => sum + (open[s] ?? 0),
        0,
      );
      if (count > 0) {
        io.stderr.write(
          `credreport run: ${count} open finding${count === 1 ? '' : 's'} at or above ${failOn} (--fail-on ${failOn}): exit status ${EXIT.findings}\n`,
        );
        return EXIT.findings;
      }
    }
    // The digest's verdict is core/coverage.ts's (docs/ARCHITECTURE.md §12), the one merge and collect exit by.
    return exitStatusFor(result.coverage);
  } finally {
    session.destroy();
  }
}

/** Builds `run` with its dependencies replaced (tests). */
export function createRunCommand(overrides: Partial<RunCommandDeps> = {}): Command {
  const deps: RunCommandDeps = { aws: createAwsSession, ...overrides };
  return {
    name: 'run',
    summary: 'invoke the digest now and print its summary',
    help: HELP,
    run: (argv, io) => runRun(deps, argv, io),
  };
}

export const runCommand: Command = createRunCommand();
