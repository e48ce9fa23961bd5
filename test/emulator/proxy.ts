/**
 * A recording, fault-injecting HTTP proxy between the SDK clients (in this process and in CLI child
 * processes) and moto. moto has no fault-injection API, so faults are injected here, at the wire, where
 * the real SDK parses them like any AWS error (its retry strategy included). The proxy also:
 * - records every call (service, action, calling account) so tests can assert retries and attribution;
 * - learns which account an access key acts in from STS AssumeRole answers;
 * - fixes moto's constant credential report `GeneratedTime` (always 2015-02-02T20:02:02Z) to the time the
 *   report was generated, as IAM does; without this every report would look years stale;
 * - answers IAM "root access management" itself, which moto 5.2.1 lacks (see {@link RootAccessBridge});
 * - gives an account a root user moto does not model (see {@link BridgedRootUser});
 * - makes an access key older than moto can make one (see {@link BackdatedKey}).
 */
import {
  IncomingHttpHeaders,
  IncomingMessage,
  ServerResponse,
  createServer,
  request as httpRequest,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { DEFAULT_TEST_CREDENTIALS, MOTO_DEFAULT_ACCOUNT_ID } from './moto';

export interface CallInfo {
  /** SigV4 signing name: iam, sts, events, s3, ses, organizations, sqs… ('' when unsigned). */
  readonly service: string;
  /** API action: from X-Amz-Target or the query `Action`; REST calls get `<METHOD> <path>`. */
  readonly action: string;
  /** Account the call acts in, as moto resolves it from the access key. */
  readonly accountId: string;
  readonly accessKeyId?: string;
  readonly method: string;
  readonly path: string;
  /** Form parameters of query-protocol calls (IAM, STS). */
  readonly params?: URLSearchParams;
  readonly body: Buffer;
}

export interface ObservedCall extends CallInfo {
  readonly status: number;
  /** Name of the fault rule that answered instead of moto. */
  readonly injected?: string;
  /** The moto gap the proxy answered for (`root-access-management`), instead of moto. */
  readonly bridged?: string;
  readonly at: Date;
  /** Milliseconds the emulator (or the fault) took to answer. */
  readonly ms: number;
  /** The answer's body, kept for errors and SES calls only (IAM answers can be megabytes). */
  readonly response?: string;
}

export interface FaultResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface FaultRule {
  readonly name: string;
  readonly match: (call: CallInfo) => boolean;
  /** How many matching calls to answer with the fault; afterwards they pass through. */
  readonly times: number;
  readonly respond: (call: CallInfo) => FaultResponse;
}

export interface FaultHandle {
  readonly rule: FaultRule;
  /** Calls answered with the fault so far. */
  hits(): number;
}

/** Rewrites the CSV of one account's credential report as it leaves the emulator. */
export type ReportRewrite = (accountId: string, csv: string) => string;

/**
 * One account's root user, which moto does not model: its report has no `<root_account>` row and its
 * GetAccountSummary hard-codes `AccountAccessKeysPresent` 0 and `AccountSigningCertificatesPresent` 0 and
 * omits `AccountPasswordPresent`. The proxy makes both answers tell of the same root (scenario.ts `rootUser`).
 */
export interface BridgedRootUser {
  /** SummaryMap entries set (or added) on the account's GetAccountSummary answers. */
  readonly summary: Readonly<Record<string, number>>;
  /** The `<root_account>` row spliced in right after the report's header, where IAM puts it. */
  readonly row: string;
}

/**
 * An access key created `createDate` instead of when CreateAccessKey ran: moto stamps a key with the moment
 * it was made, so a key unused for 200 days cannot be seeded. The proxy rewrites the key's `CreateDate` in
 * ListAccessKeys answers and its slot's `access_key_N_last_rotated` in the account's credential report (and
 * the user's `user_creation_time` when that is later), to the same second, as IAM would show an old key.
 * Everything else about the key (status, last use, UpdateAccessKey, DeleteAccessKey) stays moto's.
 */
export interface BackdatedKey {
  readonly accountId: string;
  readonly userName: string;
  /** The key's slot in the user's report row: the order ListAccessKeys lists the user's keys. */
  readonly slot: 1 | 2;
  readonly accessKeyId: string;
  readonly createDate: Date;
}

/**
 * IAM "root access management" (centralized root access), which moto 5.2.1 does not have: IAM
 * ListOrganizationsFeatures answers 500, Enable/Disable OrganizationsRootCredentialsManagement and
 * OrganizationsRootSessions are unknown, and Organizations EnableAWSServiceAccess refuses `iam.amazonaws.com`
 * ("unrecognized service principal"). The proxy answers them from this state, with the rules of the IAM API
 * reference: only the management account may call them (AccountNotManagementOrDelegatedAdministratorException
 * otherwise), IAM needs trusted access in Organizations (ServiceAccessNotEnabledException), and no
 * organization means OrganizationNotFoundException. ListAWSServiceAccessForOrganization is moto's own answer
 * with `iam.amazonaws.com` added while IAM has trusted access.
 */
export interface RootAccessBridge {
  /** Learnt from CreateOrganization / DescribeOrganization answers. */
  organizationId?: string;
  iamTrustedAccess: boolean;
  /** When IAM's trusted access was enabled (epoch seconds, as Organizations answers DateEnabled). */
  iamTrustedSince?: number;
  readonly features: Set<'RootCredentialsManagement' | 'RootSessions'>;
}

const IAM_PRINCIPAL = 'iam.amazonaws.com';
const ROOT_ACCESS_ACTIONS: Readonly<
  Record<string, { readonly feature?: 'RootCredentialsManagement' | 'RootSessions'; readonly on?: boolean }>
> = {
  ListOrganizationsFeatures: {},
  EnableOrganizationsRootCredentialsManagement: { feature: 'RootCredentialsManagement', on: true },
  DisableOrganizationsRootCredentialsManagement: { feature: 'RootCredentialsManagement', on: false },
  EnableOrganizationsRootSessions: { feature: 'RootSessions', on: true },
  DisableOrganizationsRootSessions: { feature: 'RootSessions', on: false },
};

const AUTH_CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;
const MOTO_GENERATED_TIME = '2015-02-02T20:02:02Z';

/** An error as the service's protocol would write it (awsQuery XML or awsJson). */
export function protocolError(call: CallInfo, status: number, code: string, message: string): FaultResponse {
  if (call.params && call.params.has('Action')) {
    const xmlns =
      call.service === 'sts'
        ? 'https://sts.amazonaws.com/doc/2011-06-15/'
        : 'https://iam.amazonaws.com/doc/2010-05-08/';
    const body =
      `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>emulator-fault</RequestId></ErrorResponse>`;
    return { status, headers: { 'content-type': 'text/xml' }, body };
  }
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  };
}

export class EmulatorProxy {
  readonly calls: ObservedCall[] = [];
  private readonly faults: { rule: FaultRule; hits: number }[] = [];
  private readonly keyAccounts = new Map<string, string>([
    [DEFAULT_TEST_CREDENTIALS.accessKeyId, MOTO_DEFAULT_ACCOUNT_ID],
  ]);
  private readonly generatedAt = new Map<string, string>();
  private reportRewrite: ReportRewrite | undefined;
  private readonly rootUsers = new Map<string, BridgedRootUser>();
  private readonly backdated = new Map<string, BackdatedKey>();
  /** IAM root access management as the proxy answers it (moto has none). */
  readonly rootAccess: RootAccessBridge = { iamTrustedAccess: false, features: new Set() };
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`emulator proxy: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  private port = 0;

  private constructor(private target: URL) {}

  /** Listens on a free loopback port in front of `targetEndpoint`. */
  static async start(targetEndpoint: string): Promise<EmulatorProxy> {
    const proxy = new EmulatorProxy(new URL(targetEndpoint));
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.server.keepAliveTimeout = 1_000;
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  /** Sends further calls to another emulator (e.g. a restarted moto). */
  retarget(targetEndpoint: string): void {
    this.target = new URL(targetEndpoint);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Forgets recorded calls, fault rules and the report rewrite (between tests; learnt keys are kept until `reset`). */
  clear(): void {
    this.calls.length = 0;
    this.faults.length = 0;
    this.reportRewrite = undefined;
  }

  /** `clear()` plus forgetting learnt keys, generation times, root users and root access (after moto's reset). */
  reset(): void {
    this.clear();
    this.generatedAt.clear();
    this.rootUsers.clear();
    this.backdated.clear();
    this.rootAccess.organizationId = undefined;
    this.rootAccess.iamTrustedAccess = false;
    this.rootAccess.iamTrustedSince = undefined;
    this.rootAccess.features.clear();
    for (const key of [...this.keyAccounts.keys()]) {
      if (key !== DEFAULT_TEST_CREDENTIALS.accessKeyId) this.keyAccounts.delete(key);
    }
  }

  /** Tells the proxy which account an access key acts in (keys from AssumeRole are learnt automatically). */
  registerKey(accessKeyId: string, accountId: string): void {
    this.keyAccounts.set(accessKeyId, accountId);
  }

  inject(rule: FaultRule): FaultHandle {
    const entry = { rule, hits: 0 };
    this.faults.push(entry);
    return { rule, hits: () => entry.hits };
  }

  setReportRewrite(rewrite: ReportRewrite | undefined): void {
    this.reportRewrite = rewrite;
  }

  /** Gives `accountId` a root user in its credential report and GetAccountSummary (undefined: none again). */
  setRootUser(accountId: string, root: BridgedRootUser | undefined): void {
    if (root) this.rootUsers.set(accountId, root);
    else this.rootUsers.delete(accountId);
  }

  /** Makes the key look created at `key.createDate` (see {@link BackdatedKey}); kept until `reset`. */
  backdateKey(key: BackdatedKey): void {
    this.backdated.set(key.accessKeyId, key);
  }

  /** Recorded calls matching a service/action (and account, when given). */
  callsTo(service: string, action: string, accountId?: string): ObservedCall[] {
    return this.calls.filter(
      (c) =>
        c.service === service &&
        c.action === action &&
        (accountId === undefined || c.accountId === accountId),
    );
  }

  private describe(req: IncomingMessage, body: Buffer): CallInfo {
    const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
    const credential = AUTH_CREDENTIAL.exec(auth);
    const accessKeyId = credential?.[1];
    const service = credential?.[3] ?? '';
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    let params: URLSearchParams | undefined;
    let action = `${method} ${url.pathname}`;
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      action = target.slice(target.lastIndexOf('.') + 1);
    } else if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      params = new URLSearchParams(body.toString('utf8'));
      action = params.get('Action') ?? action;
    } else if (url.searchParams.has('Action')) {
      params = url.searchParams;
      action = params.get('Action') ?? action;
    }
    if (service === 'ses' && method === 'POST' && url.pathname === '/v2/email/outbound-emails')
      action = 'SendEmail';
    const accountId =
      (accessKeyId !== undefined ? this.keyAccounts.get(accessKeyId) : undefined) ?? MOTO_DEFAULT_ACCOUNT_ID;
    return { service, action, accountId, accessKeyId, method, path: req.url ?? '/', params, body };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const call = this.describe(req, body);
    const started = Date.now();

    const fault = this.faults.find((f) => f.hits < f.rule.times && f.rule.match(call));
    if (fault) {
      fault.hits += 1;
      const answer = fault.rule.respond(call);
      this.calls.push({
        ...call,
        status: answer.status,
        injected: fault.rule.name,
        at: new Date(),
        ms: 0,
        response: answer.body,
      });
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
      res.end(answer.body);
      return;
    }

    const bridged = this.bridgeRootAccess(call);
    if (bridged) {
      this.calls.push({
        ...call,
        status: bridged.status,
        bridged: 'root-access-management',
        at: new Date(),
        ms: 0,
        response: bridged.body,
      });
      res.writeHead(bridged.status, {
        ...bridged.headers,
        'content-length': Buffer.byteLength(bridged.body),
      });
      res.end(bridged.body);
      return;
    }

    if (call.service === 'iam' && call.action === 'GenerateCredentialReport') {
      this.generatedAt.set(call.accountId, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }

    const headers: IncomingHttpHeaders = { ...req.headers };
    delete headers['accept-encoding'];
    // moto resolves an unknown access key by instantiating the IAM backend of every account in every
    // partition (each loading ~1,500 managed policies); naming the account we already know skips that.
    if (call.accessKeyId !== undefined && this.keyAccounts.has(call.accessKeyId)) {
      headers['x-moto-account-id'] = call.accountId;
    }
    // moto cannot deliver PutEvents to another account's bus ARN (ResourceNotFoundException): hand it to
    // moto as the bus's own account, which is what AWS does after checking the bus policy. The sender's
    // account is kept in the recorded call (`accountId`); `asSentFrom` restores it on delivered events.
    const busAccount =
      call.service === 'events' && call.action === 'PutEvents' ? foreignBusAccount(body) : undefined;
    if (busAccount !== undefined && busAccount !== call.accountId) headers['x-moto-account-id'] = busAccount;
    headers['content-length'] = String(body.length);
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const forward = httpRequest(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        resolve,
      );
      forward.on('error', reject);
      forward.end(body);
    });
    const answer: Buffer[] = [];
    for await (const chunk of upstream) answer.push(chunk as Buffer);
    let responseBody: Buffer = Buffer.concat(answer);
    const status = upstream.statusCode ?? 502;

    if (status === 200 && call.service === 'sts' && call.action === 'AssumeRole') {
      this.learnAssumedRole(call, responseBody.toString('utf8'));
    }
    if (status === 200 && call.service === 'iam' && call.action === 'CreateAccessKey') {
      // A user's key acts in the account that created it.
      const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(responseBody.toString('utf8'))?.[1];
      if (accessKeyId) this.keyAccounts.set(accessKeyId, call.accountId);
    }
    if (status === 200 && call.service === 'iam' && call.action === 'GetCredentialReport') {
      responseBody = Buffer.from(
        this.fixCredentialReport(call.accountId, responseBody.toString('utf8')),
        'utf8',
      );
    }
    if (status === 200 && call.service === 'iam' && call.action === 'ListAccessKeys' && this.backdated.size) {
      responseBody = Buffer.from(this.backdateListedKeys(responseBody.toString('utf8')), 'utf8');
    }
    const rootUser = this.rootUsers.get(call.accountId);
    if (status === 200 && rootUser && call.service === 'iam' && call.action === 'GetAccountSummary') {
      responseBody = Buffer.from(withSummary(responseBody.toString('utf8'), rootUser.summary), 'utf8');
    }
    if (status === 200 && call.service === 'organizations') {
      responseBody = this.observeOrganizations(call, responseBody);
    }

    const keep = status >= 400 || call.service === 'ses';
    this.calls.push({
      ...call,
      status,
      at: new Date(),
      ms: Date.now() - started,
      ...(keep ? { response: responseBody.toString('utf8') } : {}),
    });
    const responseHeaders = { ...upstream.headers };
    delete responseHeaders['transfer-encoding'];
    responseHeaders['content-length'] = String(responseBody.length);
    res.writeHead(status, responseHeaders);
    res.end(responseBody);
  }

  /** The proxy's own answer to a root access management call moto cannot answer, else undefined. */
  private bridgeRootAccess(call: CallInfo): FaultResponse | undefined {
    const state = this.rootAccess;
    if (call.service === 'organizations' && /^(Enable|Disable)AWSServiceAccess$/.test(call.action)) {
      const principal = jsonBody(call.body).ServicePrincipal;
      if (principal !== IAM_PRINCIPAL) return undefined;
      state.iamTrustedAccess = call.action.startsWith('Enable');
      state.iamTrustedSince = state.iamTrustedAccess ? Math.floor(Date.now() / 1000) : undefined;
      return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: '{}' };
    }
    const action = call.service === 'iam' ? ROOT_ACCESS_ACTIONS[call.action] : undefined;
    if (!action) return undefined;
    if (state.organizationId === undefined) {
      return protocolError(
        call,
        400,
        'OrganizationNotFoundException',
        'The request was rejected because no organization is associated with your account.',
      );
    }
    if (call.accountId !== MOTO_DEFAULT_ACCOUNT_ID) {
      return protocolError(
        call,
        400,
        'AccountNotManagementOrDelegatedAdministratorException',
        'The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access.',
      );
    }
    if (!state.iamTrustedAccess) {
      return protocolError(
        call,
        400,
        'ServiceAccessNotEnabledException',
        'The request was rejected because trusted access for IAM is not enabled for the organization.',
      );
    }
    if (action.feature) {
      if (action.on) state.features.add(action.feature);
      else state.features.delete(action.feature);
    }
    const features = [...state.features]
      .sort()
      .map((f) => `<member>${f}</member>`)
      .join('');
    const body =
      `<${call.action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${call.action}Result>` +
      `<OrganizationId>${state.organizationId}</OrganizationId><EnabledFeatures>${features}</EnabledFeatures>` +
      `</${call.action}Result><ResponseMetadata><RequestId>emulator-bridge</RequestId></ResponseMetadata></${call.action}Response>`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body };
  }

  /** Learns the organization id; adds IAM's trusted access to moto's ListAWSServiceAccessForOrganization. */
  private observeOrganizations(call: CallInfo, body: Buffer): Buffer {
    if (call.action === 'CreateOrganization' || call.action === 'DescribeOrganization') {
      const id = (jsonBody(body).Organization as { Id?: unknown } | undefined)?.Id;
      if (typeof id === 'string') this.rootAccess.organizationId = id;
      return body;
    }
    if (call.action !== 'ListAWSServiceAccessForOrganization' || !this.rootAccess.iamTrustedAccess)
      return body;
    const answer = jsonBody(body) as { EnabledServicePrincipals?: unknown[]; NextToken?: string };
    if (answer.NextToken) return body; // the last page carries it
    const principals = [
      ...(answer.EnabledServicePrincipals ?? []),
      { ServicePrincipal: IAM_PRINCIPAL, DateEnabled: this.rootAccess.iamTrustedSince },
    ];
    return Buffer.from(JSON.stringify({ ...answer, EnabledServicePrincipals: principals }), 'utf8');
  }

  /** ListAccessKeys: each backdated key's CreateDate (moto lists one `<member>` per key). */
  private backdateListedKeys(xml: string): string {
    return xml.replace(/<member>([\s\S]*?)<\/member>/g, (member: string, inner: string) => {
      const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(inner)?.[1];
      const key = id === undefined ? undefined : this.backdated.get(id);
      if (!key) return member;
      return member.replace(
        /<CreateDate>[^<]*<\/CreateDate>/,
        `<CreateDate>${key.createDate.toISOString()}</CreateDate>`,
      );
    });
  }

  private learnAssumedRole(call: CallInfo, xml: string): void {
    const roleAccount = /^arn:[^:]+:iam::(\d{12}):role\//.exec(call.params?.get('RoleArn') ?? '')?.[1];
    const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
    if (roleAccount && accessKeyId) this.keyAccounts.set(accessKeyId, roleAccount);
  }

  private fixCredentialReport(accountId: string, xml: string): string {
    const generated = this.generatedAt.get(accountId) ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    let fixed = xml.replace(
      `<GeneratedTime>${MOTO_GENERATED_TIME}</GeneratedTime>`,
      `<GeneratedTime>${generated}</GeneratedTime>`,
    );
    const rewrite = this.reportRewrite;
    const root = this.rootUsers.get(accountId);
    const backdated = [...this.backdated.values()].filter((k) => k.accountId === accountId);
    if (rewrite || root || backdated.length > 0) {
      fixed = fixed.replace(/<Content>([^<]*)<\/Content>/, (_all, content: string) => {
        let csv = Buffer.from(content, 'base64').toString('utf8');
        if (backdated.length > 0) csv = backdateReportKeys(csv, backdated);
        if (root) csv = spliceAfterHeader(csv, root.row);
        if (rewrite) csv = rewrite(accountId, csv);
        return `<Content>${Buffer.from(csv, 'utf8').toString('base64')}</Content>`;
      });
    }
    return fixed;
  }
}

/** IAM/STS/JSON-protocol `Throttling` answer for the first `times` matching calls. */
export function throttle(name: string, match: (call: CallInfo) => boolean, times: number): FaultRule {
  return {
    name,
    match,
    times,
    respond: (call) =>
      protocolError(
        call,
        400,
        isJsonProtocolCall(call) ? 'ThrottlingException' : 'Throttling',
        'Rate exceeded',
      ),
  };
}

/** STS AssumeRole into any role of `accountId` answers AccessDenied, always. */
export function denyAssumeRole(accountId: string): FaultRule {
  return {
    name: `deny-assume-role-${accountId}`,
    match: (call) =>
      call.service === 'sts' &&
      call.action === 'AssumeRole' &&
      new RegExp(`^arn:[^:]+:iam::${accountId}:role/`).test(call.params?.get('RoleArn') ?? ''),
    times: Number.POSITIVE_INFINITY,
    respond: (call) =>
      protocolError(
        call,
        403,
        'AccessDenied',
        `User: arn:aws:iam::${call.accountId}:user/emulator is not authorized to perform: sts:AssumeRole on resource: ${call.params?.get('RoleArn') ?? ''}`,
      ),
  };
}

/** A JSON request or answer body as an object ({} when it is not one). */
function jsonBody(body: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A GetAccountSummary answer with `entries` set, replacing moto's value or added to its SummaryMap. */
function withSummary(xml: string, entries: Readonly<Record<string, number>>): string {
  let out = xml;
  for (const [key, value] of Object.entries(entries)) {
    const entry = new RegExp(`<entry><key>${key}</key><value>[^<]*</value></entry>`);
    const replacement = `<entry><key>${key}</key><value>${value}</value></entry>`;
    out = entry.test(out)
      ? out.replace(entry, replacement)
      : out.replace('</SummaryMap>', `${replacement}</SummaryMap>`);
  }
  return out;
}

/** The credential report's own time form: `2026-12-04T09:00:00+00:00` (second precision). */
const reportTime = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, '+00:00');

/**
 * The report with each backdated key's `access_key_N_last_rotated` set, and its user's `user_creation_time`
 * moved back to it when later. moto's rows have no quoted cells for the plain names the suite seeds.
 */
function backdateReportKeys(csv: string, keys: readonly BackdatedKey[]): string {
  const lines = csv.split('\n');
  const header = (lines[0] ?? '').split(',');
  const column = (name: string) => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`credential report without a ${name} column`);
    return index;
  };
  const userColumn = column('user');
  const createdColumn = column('user_creation_time');
  return lines
    .map((line, index) => {
      if (index === 0 || line === '') return line;
      const cells = line.split(',');
      const mine = keys.filter((k) => k.userName === cells[userColumn]);
      for (const key of mine) {
        cells[column(`access_key_${key.slot}_last_rotated`)] = reportTime(key.createDate);
        const userCreated = Date.parse(cells[createdColumn] ?? '');
        if (Number.isNaN(userCreated) || userCreated > key.createDate.getTime()) {
          cells[createdColumn] = reportTime(key.createDate);
        }
      }
      return mine.length > 0 ? cells.join(',') : line;
    })
    .join('\n');
}

/** Inserts `row` right after the CSV's header line. */
function spliceAfterHeader(csv: string, row: string): string {
  const newline = csv.indexOf('\n');
  if (newline < 0) return `${csv}\n${row}\n`;
  return `${csv.slice(0, newline + 1)}${row}\n${csv.slice(newline + 1)}`;
}

function isJsonProtocolCall(call: CallInfo): boolean {
  return call.params === undefined;
}

/** The account of the bus ARN that a PutEvents request's entries name, if they name one by ARN. */
function foreignBusAccount(body: Buffer): string | undefined {
  try {
    const request = JSON.parse(body.toString('utf8')) as { Entries?: { EventBusName?: string }[] };
    const accounts = new Set(
      (request.Entries ?? []).map(
        (e) => /^arn:aws[a-z-]*:events:[^:]+:(\d{12}):event-bus\//.exec(e.EventBusName ?? '')?.[1],
      ),
    );
    const [only] = accounts;
    return accounts.size === 1 ? only : undefined;
  } catch {
    return undefined;
  }
}
