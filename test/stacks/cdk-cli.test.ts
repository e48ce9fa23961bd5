/**
 * `npx cdk synth` as a platform engineer runs it: the real CDK CLI, the shipped cdk.json (its `app`
 * command and context), no AWS credentials or profile, no instance metadata. buildApp() is tested in
 * depth elsewhere; this covers what only the CLI path exercises (the app entry, context handed over by
 * the CLI, no lookups or credentials needed, the validation plugins failing the command on a finding).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HUB_OUTPUTS } from '../../core/names';
import type { CfnTemplate } from './helpers';

jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '..', '..');

/** The environment of a machine with no AWS configuration at all. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(os.tmpdir(), 'credreport-no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), 'credreport-no-aws-credentials'),
    // Keep the test itself off the network (the user's own runs may report telemetry and fetch notices).
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function synth(outdir: string, extra: readonly string[] = []) {
  return spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--output', outdir, ...extra],
    { cwd: ROOT, env: offlineEnv(), encoding: 'utf8', timeout: 240_000 },
  );
}

describe('cdk synth (the CLI, with the shipped cdk.json)', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'credreport-cli-'));
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes the hub and the member template offline, without credentials', () => {
    const run = synth(outdir);
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const files = fs.readdirSync(outdir);
    const hubFile = files.find((f) => f === 'CredreportHub.template.json');
    expect(hubFile).toBeDefined();
    expect(files.filter((f) => f.endsWith('.stackset.template.json'))).toHaveLength(1);
    const hub = JSON.parse(fs.readFileSync(path.join(outdir, hubFile as string), 'utf8')) as CfnTemplate;
    // Every output but the report bucket key's (only with reportBucketKms), the chat topic's (only with
    // chatTopic) and Athena's (only with athena), all off in cdk.json.
    const optional: readonly string[] = [
      HUB_OUTPUTS.reportBucketKeyArn,
      HUB_OUTPUTS.chatTopicArn,
      HUB_OUTPUTS.athenaWorkGroup,
      HUB_OUTPUTS.athenaDatabase,
      HUB_OUTPUTS.athenaResultsBucketName,
    ];
    expect(Object.keys(hub.Outputs ?? {}).sort()).toEqual(
      Object.values(HUB_OUTPUTS)
        .filter((k) => !optional.includes(k))
        .sort(),
    );
    // cdk-nag ran as a validation plugin and found nothing unacknowledged.
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: unknown[];
    };
    expect(report.pluginReports).toEqual([]);
  });

  it('fails with the context key named when the configuration is wrong', () => {
    const run = synth(path.join(outdir, 'bad'), ['-c', 'organizationId=org-123']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/organizationId: expected an AWS Organizations id like o-/);
  });
});
