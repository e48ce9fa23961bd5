/**
 * Starts moto (a real AWS API emulator) in server mode on a free loopback port for one test file, and
 * points the AWS SDK at it. See test/emulator/README.md for what moto does and does not model.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The one line the suite prints when moto is missing, so CI fails with the fix in the message. */
export const MOTO_INSTALL_HINT = 'moto server is not installed: run pip install "moto[server]"';

/** moto's default account: requests signed with unknown credentials act in it. The hub lives here. */
export const MOTO_DEFAULT_ACCOUNT_ID = '123456789012';
export const EMULATOR_REGION = 'us-east-1';
/** Credentials moto maps to its default account (it does not check signatures). */
export const DEFAULT_TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

export class MotoNotInstalledError extends Error {
  constructor(detail: string) {
    super(`${MOTO_INSTALL_HINT} (${detail})`);
    this.name = 'MotoNotInstalledError';
  }
}

export class MotoStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MotoStartError';
  }
}

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the moto server (for checking it is gone after `stop`). */
  readonly pid: number | undefined;
  /** Milliseconds from spawn until moto answered. */
  readonly startupMs: number;
  /** Drops every resource in every account (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Stops the server process (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Last lines moto wrote (its request log), for failure messages. */
  recentOutput(): string;
}

export interface StartMotoOptions {
  /** Python interpreter; default `$MOTO_PYTHON` or `python3`. */
  readonly python?: string;
  /** How long to wait for the server to answer; default 30 s. */
  readonly timeoutMs?: number;
}

/** A port the OS reports free on 127.0.0.1 (moto binds it right after; a lost race surfaces as a start error). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a probe socket'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** moto lost the race for the probed port to another process (freePort closes its probe first). */
class PortTakenError extends MotoStartError {}

/** moto servers of this process still running: killed if the jest worker exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `python3 -m moto.server` and resolves once it answers HTTP. Retries on another port when the
 * probed one was taken in between (other suites on the machine start servers too).
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startMotoOnce(options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

async function startMotoOnce(options: StartMotoOptions): Promise<MotoServer> {
  const python = options.python ?? process.env.MOTO_PYTHON ?? 'python3';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();

  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };

  const child: ChildProcess = spawn(python, ['-m', 'moto.server', '-p', String(port), '-H', '127.0.0.1'], {
    // MOTO_ACCOUNT_ID would pin every request to one account and defeat the multi-account scenario.
    env: {
      ...process.env,
      MOTO_ACCOUNT_ID: undefined,
      MOTO_IAM_LOAD_MANAGED_POLICIES: 'true',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdout?.on('data', remember);
  child.stderr?.on('data', remember);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exited = { code, signal };
      resolve();
    });
    child.once('error', (error) => {
      running.delete(child);
      spawnError = error;
      exited ??= { code: null, signal: null };
      resolve();
    });
  });

  const server: MotoServer = {
    endpoint,
    port,
    pid: child.pid,
    startupMs: 0,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new MotoStartError(`moto reset answered ${response.status}`);
      await response.arrayBuffer();
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        exit.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 5_000);
        }),
      ]);
      clearTimeout(timer);
      if (!killed) {
        child.kill('SIGKILL');
        await exit;
      }
    },
    recentOutput: () => output.slice(-20).join('\n'),
  };

  while (Date.now() - started < timeoutMs) {
    if (exited) {
      const text = output.join('\n');
      if (spawnError && (spawnError as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MotoNotInstalledError(`${python} not found`);
      }
      if (/No module named ['"]?(moto|flask|werkzeug)/.test(text)) {
        throw new MotoNotInstalledError(/No module named [^\n]*/.exec(text)?.[0] ?? 'module missing');
      }
      if (/Address already in use/i.test(text)) {
        throw new PortTakenError(`port ${port} was taken before moto could bind it`);
      }
      throw new MotoStartError(
        `moto server exited before answering (code ${exited.code}, signal ${exited.signal}):\n${server.recentOutput()}`,
      );
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await response.arrayBuffer();
      if (response.ok) return { ...server, startupMs: Date.now() - started };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  await server.stop();
  throw new MotoStartError(
    `moto server did not answer on ${endpoint} within ${timeoutMs} ms:\n${server.recentOutput()}`,
  );
}

/** The variables that point an AWS SDK v3 client (in this process or a child) at the emulator. */
export function emulatorEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: DEFAULT_TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEFAULT_TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: EMULATOR_REGION,
    AWS_DEFAULT_REGION: EMULATOR_REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Lambda-style variables the handlers and Powertools read.
    POWERTOOLS_METRICS_NAMESPACE: 'credreport-emulator',
    POWERTOOLS_LOG_LEVEL: process.env.EMULATOR_LOG_LEVEL ?? 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // The SDK's "node >=22 from 2027" notice, once per cold start, buries the test output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Variables that would make the SDK sign with something other than the test credentials. */
const CONFLICTING_ENV = [
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
];

/**
 * Sets `emulatorEnv(endpoint)` (plus `extra`) in process.env, removing variables that would
 * override it; returns a function that restores the previous environment exactly.
 */
export function applyEnv(
  vars: Record<string, string | undefined>,
  remove: readonly string[] = [],
): () => void {
  const saved = new Map<string, string | undefined>();
  for (const key of [...Object.keys(vars), ...remove]) saved.set(key, process.env[key]);
  for (const key of remove) delete process.env[key];
  for (const [key, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export function pointSdkAtEmulator(endpoint: string): () => void {
  return applyEnv(emulatorEnv(endpoint), CONFLICTING_ENV);
}
