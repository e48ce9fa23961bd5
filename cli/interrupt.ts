/**
 * SIGINT / SIGTERM for the process: removes the temporary files of outputs still being written, clears
 * a progress bar, says what was kept, and exits 130 / 143 (README, "Exit status"). Outputs are written
 * under temporary names and renamed at the end (cli/outputs.ts), so what a previous run left is intact.
 */
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { S3_LAYOUT } from '../core/names';

/** Temporary files being written, absolute. */
const temps = new Set<string>();
/** Output directories (or files) of the running command, for "what was kept". */
const targets = new Set<string>();
/** Directories this run created: removed again when they hold nothing. */
const created = new Set<string>();
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

/** Registers a directory the run created (the first `mkdir -p` made); removed on interrupt if empty. */
export function trackCreatedDir(path: string): () => void {
  created.add(path);
  return () => created.delete(path);
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
    if (existsSync(temp)) removed++;
    rmSync(temp, { force: true });
    temps.delete(temp);
  }
  for (const dir of created) {
    try {
      rmdirSync(dir); // only when empty: nothing of a previous run is ever in a directory this run made
    } catch {
      // Not empty, or already gone.
    }
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

/**
 * Installs the SIGINT and SIGTERM handlers of the `credreport` process. After cleaning up, the handler
 * takes itself off and raises the signal again, so the process ends by that signal, as a shell expects
 * (its status is 128 + the signal's number: 130, 143), and at once: `process.exit` would wait for a
 * file read still blocked in the thread pool (a pipe, a stalled network file system).
 */
export function installInterruptHandlers(stderr: NodeJS.WritableStream, cwd: string): void {
  const handle = (signal: NodeJS.Signals): void => {
    stderr.write(cleanUpAfterInterrupt(signal, cwd));
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', handle);
  process.once('SIGTERM', handle);
}
