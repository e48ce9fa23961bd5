/**
 * The file adapter of the run pipeline (docs/ARCHITECTURE.md §6): the four outputs of `credreport merge`,
 * `collect` and `demo` written to a directory. Only the sinks live here; what is written is
 * core/run-pipeline.ts's, the same as the digest Lambda's S3 outputs.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3_LAYOUT } from '../core/names';
import { RunInput, RunResult, runPipeline } from '../core/run-pipeline';

/** Output file paths of a run. */
export interface OutputPaths {
  readonly credentialReport: string;
  readonly accessKeys: string;
  readonly findings: string;
  readonly state: string;
  readonly summary: string;
  readonly digest: string;
}

/**
 * Runs the pipeline and writes the four outputs to `outDir` through temporary names, so a failed run
 * never leaves half a set next to a previous good one.
 */
export async function writeRunOutputs(
  outDir: string,
  input: RunInput,
): Promise<{ result: RunResult; paths: OutputPaths }> {
  await mkdir(outDir, { recursive: true });
  const names = S3_LAYOUT.outputFiles;
  const paths: OutputPaths = {
    credentialReport: join(outDir, names.credentialReport),
    accessKeys: join(outDir, names.accessKeys),
    findings: join(outDir, names.findings),
    state: join(outDir, names.state),
    summary: join(outDir, names.summary),
    digest: join(outDir, names.digest),
  };
  const temp = (path: string): string => `${path}.${process.pid}.tmp`;
  const all = Object.values(paths);
  try {
    const result = await runPipeline(input, {
      credentialReport: createWriteStream(temp(paths.credentialReport)),
      accessKeys: createWriteStream(temp(paths.accessKeys)),
      findings: createWriteStream(temp(paths.findings)),
      state: createWriteStream(temp(paths.state)),
      summary: (json) => writeFile(temp(paths.summary), json),
      digest: (html) => writeFile(temp(paths.digest), html),
    });
    for (const path of all) await rename(temp(path), path);
    return { result, paths };
  } finally {
    await Promise.all(all.map((path) => rm(temp(path), { force: true })));
  }
}
