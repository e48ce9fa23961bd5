/**
 * The file adapter of the run pipeline (docs/ARCHITECTURE.md §6): the four outputs of `credreport merge`,
 * `collect` and `demo` written to a directory. Only the sinks live here; what is written is
 * core/run-pipeline.ts's, the same as the digest Lambda's S3 outputs.
 */
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CredreportError } from '../core/errors';
import { S3_LAYOUT } from '../core/names';
import { RunInput, RunResult, runPipeline } from '../core/run-pipeline';
import { trackCreatedDir, trackTarget, trackTemp } from './interrupt';

/** The output directory cannot be written (not a directory, no permission). */
export class OutputDirError extends CredreportError {}

/** Output file paths of a run. */
export interface OutputPaths {
  readonly credentialReport: string;
  readonly accessKeys: string;
  readonly findings: string;
  readonly ocsf: string;
  readonly state: string;
  readonly summary: string;
  readonly digest: string;
}

/** Plain words for the file system errors a user can act on. */
export function fsReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EISDIR':
      return 'is a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Fails when `dir` (or, if it does not exist yet, the nearest existing folder above it) cannot be
 * written, naming the option and the folder: before any work, rather than with a temporary file's name.
 */
export async function checkWritableDir(dir: string, option = '--out'): Promise<void> {
  let current = dir;
  for (;;) {
    const info = await stat(current).catch(() => undefined);
    if (info) {
      const usable =
        info.isDirectory() &&
        (await access(current, constants.W_OK).then(
          () => true,
          () => false,
        ));
      if (usable) return;
      throw new OutputDirError(
        `cannot write to ${option} ${dir}: ${current} is ${info.isDirectory() ? 'not writable' : 'not a directory'}`,
      );
    }
    const parent = dirname(current);
    if (parent === current) throw new OutputDirError(`cannot write to ${option} ${dir}`);
    current = parent;
  }
}

export interface WriteOptions {
  /**
   * Called with the finished result before anything is renamed: a reason makes the run write nothing
   * (temporary files removed, a directory created for it removed), the previous outputs untouched.
   */
  readonly refuse?: (result: RunResult) => string | undefined;
}

/** The outputs were not written: {@link WriteOptions.refuse} gave this reason. */
export class OutputsRefusedError extends CredreportError {
  constructor(
    readonly result: RunResult,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Runs the pipeline and writes the four outputs to `outDir` through temporary names, so a failed run
 * never leaves half a set next to a previous good one.
 */
export async function writeRunOutputs(
  outDir: string,
  input: RunInput,
  options: WriteOptions = {},
): Promise<{ result: RunResult; paths: OutputPaths }> {
  trackTarget(outDir);
  let created: string | undefined;
  try {
    created = await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw new OutputDirError(`cannot write to --out ${outDir}: ${fsReason(error)}`, { cause: error });
  }
  const names = S3_LAYOUT.outputFiles;
  const paths: OutputPaths = {
    credentialReport: join(outDir, names.credentialReport),
    accessKeys: join(outDir, names.accessKeys),
    findings: join(outDir, names.findings),
    ocsf: join(outDir, names.ocsf),
    state: join(outDir, names.state),
    summary: join(outDir, names.summary),
    digest: join(outDir, names.digest),
  };
  const temp = (path: string): string => `${path}.${process.pid}.tmp`;
  const all = Object.values(paths);
  const releases = all.map((path) => trackTemp(temp(path)));
  if (created !== undefined) releases.push(trackCreatedDir(created));
  let renamed = false;
  try {
    const result = await runPipeline(input, {
      credentialReport: createWriteStream(temp(paths.credentialReport)),
      accessKeys: createWriteStream(temp(paths.accessKeys)),
      findings: createWriteStream(temp(paths.findings)),
      ocsf: createWriteStream(temp(paths.ocsf)),
      state: createWriteStream(temp(paths.state)),
      summary: (json) => writeFile(temp(paths.summary), json),
      digest: (html) => writeFile(temp(paths.digest), html),
    }).catch((error: unknown) => {
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC') {
        throw new OutputDirError(`cannot write to --out ${outDir}: ${fsReason(error)}`, { cause: error });
      }
      throw error;
    });
    const refused = options.refuse?.(result);
    if (refused !== undefined) throw new OutputsRefusedError(result, refused);
    for (const path of all) await rename(temp(path), path);
    renamed = true;
    return { result, paths };
  } finally {
    await Promise.all(all.map((path) => rm(temp(path), { force: true })));
    for (const release of releases) release();
    // A directory made for a run that wrote nothing is not left behind.
    if (!renamed && created !== undefined) await rm(created, { recursive: true, force: true });
  }
}
