/**
 * SIGINT / SIGTERM for the process: removes the temporary files of outputs still being written, clears
 * a progress bar, says what was kept, and exits 130 / 143 (README, "Exit status"). Outputs are written
 * under temporary names and renamed at the end (cli/outputs.ts), so what a previous run left is intact.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { S3_LAYOUT } from '../core/names';
import { EXIT } from './command';

/** Temporary files being written, absolute. */
const temps = new Set<string>();
/** Output directories (or files) of the running command, for "what was kept". */
const targets = new Set<string>();
/** Run before the message is printed (a progress bar clears its line). */
const cleanups = new Set<() => void>();

/** Registers a temporary file until `release` is called (after its rename or removal). */
export function trackTemp(path: string): () => void {
  temps.add(path);
  return () => temps.delete(path);
}

/** Registers an output directory or file the command writes to. */
export function trackTarget(path: string): void {
  targets.add(path);
}

/** Registers a cleanup; returns its removal. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** What is left in one target: the outputs of a previous run in a directory, or the file itself. */
function kept(target: string): string[] {
  try {
    const names = new Set<string>(Object.values(S3_LAYOUT.outputFiles));
    return readdirSync(target)
      .filter((name) => names.has(name))
      .map((name) => join(target, name));
  } catch {
    return existsSync(target) ? [target] : [];
  }
}

/**
 * Removes every tracked temporary file and returns the message to print: what was removed and what was
 * kept. Exported for tests; the signal handlers call it.
 */
export function cleanUpAfterInterrupt(signal: NodeJS.Signals, cwd: string): string {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch {
      // A cleanup that fails must not keep the temporary files from being removed.
    }
  }
  let removed = 0;
  for (const temp of [...temps]) {
    rmSync(temp, { force: true });
    temps.delete(temp);
    removed++;
  }
  const where = [...new Set([...targets].map((t) => shown(cwd, t)))].join(', ') || 'the output directory';
  const left = [...targets].flatMap(kept).map((p) => shown(cwd, p));
  const what = signal === 'SIGINT' ? 'interrupted (SIGINT)' : `stopped (${signal})`;
  return (
    `credreport: ${what}: removed ${removed === 1 ? '1 temporary file' : `${removed} temporary files`} in ${where}; ` +
    (left.length > 0
      ? `kept ${left.join(', ')} as they were before this run\n`
      : 'no previous outputs there, nothing kept\n')
  );
}

/** Installs the SIGINT and SIGTERM handlers of the `credreport` process. */
export function installInterruptHandlers(stderr: NodeJS.WritableStream, cwd: string): void {
  const handle = (signal: NodeJS.Signals, code: number) => () => {
    stderr.write(cleanUpAfterInterrupt(signal, cwd));
    process.exit(code);
  };
  process.once('SIGINT', handle('SIGINT', EXIT.sigint));
  process.once('SIGTERM', handle('SIGTERM', EXIT.sigterm));
}
