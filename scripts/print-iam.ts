/**
 * Prints every role and resource policy of the synthesized templates with its final statements, and every
 * cdk-nag acknowledgement with its reason, as Markdown (`npm run print-iam`; docs/ARCHITECTURE.md §11).
 *
 *   npx tsx scripts/print-iam.ts [--context overrides.json]
 *
 * The app is synthesized with cdk.json's context, overridden by the keys of `--context` (a JSON object),
 * into a temporary directory that is removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../stacks/credreport-app';
import {
  acknowledgements,
  inventory,
  type AcknowledgementRecord,
  type PermissionEntry,
  type PermissionInventory,
  type RenderedStatement,
} from '../test/stacks/iam-inventory';
import type { CfnTemplate } from '../test/stacks/helpers';

function main(argv: readonly string[]): void {
  const at = argv.indexOf('--context');
  const overridesFile = at >= 0 ? argv[at + 1] : undefined;
  if (at >= 0 && overridesFile === undefined) throw new Error('--context needs a JSON file');
  const shipped = (
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;
  const overrides =
    overridesFile !== undefined
      ? (JSON.parse(fs.readFileSync(overridesFile, 'utf8')) as Record<string, unknown>)
      : {};
  const context = { ...shipped, ...overrides };

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'credreport-print-iam-'));
  try {
    const { app, hub } = buildApp({ context, outdir });
    app.synth();
    const read = (file: string) =>
      JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8')) as CfnTemplate;
    const intro =
      `Synthesized by \`npm run print-iam\` from cdk.json${overridesFile !== undefined ? ` and ${path.basename(overridesFile)}` : ''}: ` +
      `organizationId \`${String(context.organizationId)}\`, deploymentRegion \`${String(context.deploymentRegion)}\`, ` +
      `delegatedAdmin \`${String(context.delegatedAdmin)}\`.`;
    const markdown = renderIamMarkdown({
      intro,
      stacks: [
        { title: `Hub stack (${hub.stackName})`, inventory: inventory(read(hub.templateFile)) },
        {
          title: 'Member stack (the StackSet template, in every member account)',
          inventory: inventory(read(hub.members.memberStack.templateFile)),
        },
      ],
      acknowledgements: acknowledgements(app),
    });
    process.stdout.write(markdown);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** What {@link renderIamMarkdown} prints. */
export interface IamMarkdownInput {
  /** A paragraph saying what was synthesized. */
  readonly intro: string;
  readonly stacks: readonly { readonly title: string; readonly inventory: PermissionInventory }[];
  readonly acknowledgements: readonly AcknowledgementRecord[];
}

/** The Markdown document: one section per stack, one table per policy, then the acknowledgements. */
export function renderIamMarkdown(input: IamMarkdownInput): string {
  const lines = [
    '# credreport: IAM roles and resource policies',
    '',
    `${input.intro} References are shown as text: \`\${Reports.Arn}\` is the ARN of the resource whose ` +
      'logical id starts with `Reports`, `${CentralBusArn}` a template parameter.',
    '',
    ...input.stacks.flatMap((s) => section(s.title, s.inventory)),
    ...acknowledgementSection(input.acknowledgements),
  ];
  return `${lines.join('\n')}\n`;
}

function section(title: string, inv: PermissionInventory): string[] {
  const out = [`## ${title}`, ''];
  for (const [name, entry] of Object.entries(inv)) out.push(...entryLines(name, entry));
  return out;
}

function entryLines(name: string, entry: PermissionEntry): string[] {
  const { type, Statement, AssumeRolePolicy, Policies, ...rest } = entry;
  const out = [`### ${name} (${type})`, ''];
  for (const [key, value] of Object.entries(rest)) out.push(`- ${key}: ${inline(value)}`);
  if (Object.keys(rest).length > 0) out.push('');
  if (AssumeRolePolicy !== undefined) {
    out.push('Trust policy:', '', ...table(AssumeRolePolicy as RenderedStatement[]), '');
  }
  for (const [policy, statements] of Object.entries(
    (Policies as Record<string, RenderedStatement[]> | undefined) ?? {},
  )) {
    out.push(`Policy \`${policy}\`:`, '', ...table(statements), '');
  }
  if (Statement !== undefined) out.push(...table(Statement as RenderedStatement[]), '');
  return out;
}

function table(statements: readonly RenderedStatement[]): string[] {
  const rows = statements.map((s) =>
    [
      s.Sid ?? '',
      s.Effect,
      s.Principal !== undefined
        ? inline(s.Principal)
        : s.NotPrincipal !== undefined
          ? `not ${inline(s.NotPrincipal)}`
          : '',
      list(s.Action ?? (s.NotAction !== undefined ? s.NotAction.map((a) => `not ${a}`) : [])),
      list(s.Resource ?? (s.NotResource !== undefined ? s.NotResource.map((r) => `not ${r}`) : [])),
      conditions(s.Condition),
    ].map(cell),
  );
  return [
    '| Sid | Effect | Principal | Action | Resource | Condition |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function conditions(condition: RenderedStatement['Condition']): string {
  if (condition === undefined) return '';
  return Object.entries(condition)
    .flatMap(([operator, keys]) =>
      Object.entries(keys).map(([key, value]) => `${operator} ${key} = ${inline(value)}`),
    )
    .join('<br>');
}

function acknowledgementSection(acks: readonly AcknowledgementRecord[]): string[] {
  return [
    '## cdk-nag acknowledgements',
    '',
    'Each covers the construct it is given on and everything under it; every AwsSolutions-IAM5 one is on a policy of exactly one statement (stacks/constructs/nag-acknowledgements.ts).',
    '',
    '| Construct | Finding | Reason |',
    '| --- | --- | --- |',
    ...acks.map((a) => `| ${cell(a.path)} | ${cell(a.id)} | ${cell(a.reason)} |`),
  ];
}

const code = (s: string) => `\`${s}\``;
const list = (values: readonly string[]) => values.map(code).join('<br>');
const inline = (value: unknown): string =>
  typeof value === 'string'
    ? code(value)
    : Array.isArray(value)
      ? value.map(inline).join(', ')
      : typeof value === 'object' && value !== null
        ? Object.entries(value)
            .map(([k, v]) => `${k}: ${inline(v)}`)
            .join(', ')
        : code(String(value));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

if (require.main === module) main(process.argv.slice(2));
