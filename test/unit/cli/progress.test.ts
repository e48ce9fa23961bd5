import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { cleanUpAfterInterrupt, onInterrupt, trackTarget, trackTemp } from '../../../cli/interrupt';
import { formatDuration, Progress } from '../../../cli/progress';

/** A stream that records what was written, with the tty flags a terminal would have. */
function capture(
  tty: boolean,
  columns?: number,
): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty) stream.isTTY = true;
  if (columns !== undefined) stream.columns = columns;
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

/** Lets the PassThrough deliver what was written. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('formatDuration', () => {
  it('formats minutes and seconds when under an hour', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65_000)).toBe('1:05');
  });

  it('adds hours when an hour or more', () => {
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });
});

describe('Progress', () => {
  it('redraws one line with carriage returns when on a terminal', async () => {
    let now = 0;
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 4,
      clock: () => now,
      refreshMs: 0,
    });
    now = 1000;
    progress.tick('ok');
    now = 2000;
    progress.tick('failed');
    progress.finish();
    await flush();
    const text = out.text();
    expect(text.startsWith('\rcollect [')).toBe(true);
    expect(text.split('\n')).toHaveLength(2); // one line, ended once by finish
    expect(text.endsWith('\n')).toBe(true);
    const frames = text.trimEnd().split('\r').filter(Boolean);
    const last = frames[frames.length - 1] as string;
    expect(last).toContain('2/4 accounts');
    expect(last).toContain('1 failed');
    expect(last).toContain('0:02 elapsed');
    // 2 done in 2 s, 2 left → ETA 2 s.
    expect(last).toContain('ETA 0:02');
    expect(last).toMatch(/\[#{12}-{12}\]/);
  });

  it('shows an unknown ETA when nothing is done yet on a terminal', async () => {
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 3,
      clock: () => 0,
      refreshMs: 0,
    });
    expect(progress.barLine()).toContain('ETA --:--');
    progress.finish();
    await flush();
    expect(out.text()).toContain('0/3 accounts');
  });

  it('skips redraws closer than 100 ms on a terminal', async () => {
    let now = 0;
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 100,
      clock: () => now,
      refreshMs: 0,
    });
    for (let i = 0; i < 50; i++) {
      now += 1;
      progress.tick('ok');
    }
    await flush();
    // The initial frame only: 50 ticks within 50 ms.
    expect(out.text().split('\r').filter(Boolean)).toHaveLength(1);
    now += 100;
    progress.tick('ok');
    await flush();
    expect(out.text().split('\r').filter(Boolean)).toHaveLength(2);
    progress.finish();
  });

  it('fits the terminal width when the line is longer', () => {
    const out = capture(true, 40);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 1000,
      clock: () => 0,
      refreshMs: 0,
    });
    expect(progress.barLine().length).toBe(39);
    progress.finish();
  });

  it('prints a message above the bar and redraws the bar when logging on a terminal', async () => {
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 2,
      clock: () => 0,
      refreshMs: 0,
    });
    progress.log('collect: 111111111111 failed: AccessDenied');
    progress.finish();
    await flush();
    const lines = out.text().split('\n');
    expect(lines[0]).toMatch(/\r\s*\rcollect: 111111111111 failed: AccessDenied$/);
    expect(lines[1]).toContain('0/2 accounts');
  });

  it('prints plain lines at the interval and a final line when not on a terminal', async () => {
    let now = 0;
    const out = capture(false);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 1000,
      clock: () => now,
      intervalMs: 10_000,
    });
    for (let i = 0; i < 120; i++) {
      now += 100; // 12 s in all
      progress.tick(i < 2 ? 'failed' : 'ok');
    }
    progress.finish();
    await flush();
    const text = out.text();
    expect(text).not.toContain('\r');
    expect(text.trimEnd().split('\n')).toEqual([
      'collect: 100/1000 accounts, 2 failed, 0:10 elapsed',
      'collect: 120/1000 accounts, 2 failed, 0:12 elapsed',
    ]);
  });

  it('does not repeat the last plain line when finishing right after it', async () => {
    let now = 0;
    const out = capture(false);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 1,
      clock: () => now,
      intervalMs: 10,
    });
    now = 20;
    progress.tick('ok');
    progress.finish();
    progress.tick('ok'); // ignored after finish
    await flush();
    expect(out.text()).toBe('collect: 1/1 accounts, 0:00 elapsed\n');
  });

  it('refreshes the elapsed time on a terminal while nothing finishes', async () => {
    jest.useFakeTimers();
    try {
      let now = 0;
      const out = capture(true);
      const progress = new Progress({
        stream: out.stream,
        label: 'collect',
        total: 2,
        clock: () => now,
        refreshMs: 1000,
      });
      now = 5000;
      jest.advanceTimersByTime(1000);
      progress.finish();
      jest.useRealTimers();
      await flush();
      expect(out.text()).toContain('0:05 elapsed');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('Progress on interrupt and with --quiet', () => {
  it('wipes the bar with abort, so the next message starts on a clean line, and draws no more', async () => {
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 4,
      clock: () => 0,
      refreshMs: 0,
    });
    const drawn = progress.barLine();
    progress.abort();
    progress.tick('ok');
    progress.finish();
    await flush();
    expect(out.text()).toBe(`\r${drawn}\r${' '.repeat(drawn.length)}\r`);
  });

  it('draws nothing when quiet but still prints logged failures', async () => {
    const out = capture(true);
    const progress = new Progress({
      stream: out.stream,
      label: 'collect',
      total: 2,
      quiet: true,
      refreshMs: 0,
    });
    progress.tick('failed');
    progress.log('collect: 111111111111 failed: AccessDenied');
    progress.tick('ok');
    progress.finish();
    await flush();
    expect(out.text()).toBe('collect: 111111111111 failed: AccessDenied\n');
  });
});

describe('cleanUpAfterInterrupt', () => {
  it('runs the cleanups, removes the temporary files still there and names what was kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credreport-interrupt-'));
    try {
      writeFileSync(join(dir, 'summary.json'), '{}');
      const temp = join(dir, 'summary.json.1.tmp');
      writeFileSync(temp, 'half');
      trackTarget(dir);
      const release = trackTemp(temp);
      const gone = trackTemp(join(dir, 'never-created.tmp'));
      let cleaned = 0;
      const off = onInterrupt(() => cleaned++);
      const message = cleanUpAfterInterrupt('SIGINT', dir);
      off();
      release();
      gone();
      expect(cleaned).toBe(1);
      expect(existsSync(temp)).toBe(false);
      expect(message).toBe(
        `credreport: interrupted (SIGINT): removed 1 temporary file in ${dir}; kept summary.json as they were before this run\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
