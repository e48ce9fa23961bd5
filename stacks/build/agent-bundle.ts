import { buildSync } from 'esbuild';
import * as path from 'node:path';

/** Entry point of the member agent Lambda (`export const handler`). */
export const MEMBER_AGENT_ENTRY = path.join(__dirname, '../../member-agent/handler.ts');

/**
 * Bundles the member agent into one minified CommonJS file for a CloudFormation inline `ZipFile`
 * (the StackSet template carries the code, so no asset bucket is needed in member accounts).
 * `@aws-sdk/*` stays external: the nodejs22.x runtime ships the IAM and EventBridge v3 clients.
 * Deterministic for the same sources, so an unchanged agent does not redeploy the StackSet.
 */
export function bundleMemberAgent(): { code: string; bytes: number } {
  const result = buildSync({
    entryPoints: [MEMBER_AGENT_ENTRY],
    bundle: true,
    write: false,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    legalComments: 'eof',
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error('bundleMemberAgent: esbuild produced no output');
  return { code: file.text, bytes: file.contents.byteLength };
}
