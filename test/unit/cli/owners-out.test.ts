import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CommandIo, EXIT } from '../../../cli/command';
import { main } from '../../../cli/main';
import { ownerFileName } from '../../../core/owners';
import { SAMPLE_ACCOUNTS } from '../../../core/sample-org';

const NOW = '2024-06-01T06:00:00Z';

function capture(cwd: string): { io: CommandIo; stderr: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let e = '';
  out.resume();
  err.on('data', (d: Buffer) => (e += d.toString('utf8')));
  return { io: { stdout: out, stderr: err, env: {}, cwd }, stderr: () => e };
}

describe('credreport demo --owners-out', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credreport-owners-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes one digest per due owner, each with only that owner's accounts", async () => {
    // The sample's Owner tags are team names, not addresses: refused, so every account falls to the default owner.
    const c = capture(dir);
    const code = await main(
      [
        'demo',
        '--now',
        NOW,
        '--quiet',
        '--owners-out',
        'owners',
        '--default-owner',
        'Cloud@Example.com',
        '--owner-allowed-domains',
        'example.com',
        '--owner-min-severity',
        'low',
      ],
      c.io,
    );
    expect(code).toBe(EXIT.ok);
    const files = readdirSync(join(dir, 'owners'));
    expect(files).toEqual([ownerFileName('cloud@example.com')]);
    const html = readFileSync(join(dir, 'owners', files[0] as string), 'utf8');
    expect(html).toContain('accounts of cloud@example.com');
    expect(html).toContain(SAMPLE_ACCOUNTS.payments);
    // The central digest is unchanged: no owners section in the CLI (nothing was sent).
    expect(readFileSync(join(dir, 'out', 'digest.html'), 'utf8')).not.toContain('data-section="owners"');
  });

  it('makes an owner due at --owner-min-severity critical when their accounts hold a critical finding', async () => {
    const code = await main(
      [
        'demo',
        '--now',
        NOW,
        '--quiet',
        '--owners-out',
        'owners',
        '--default-owner',
        'a@example.com',
        '--owner-min-severity',
        'critical',
        '--owner-tag-keys',
        'NoSuchTag',
      ],
      capture(dir).io,
    );
    expect(code).toBe(EXIT.ok);
    // The sample has a root access key (critical): the owner is due.
    expect(readdirSync(join(dir, 'owners'))).toHaveLength(1);
  });

  it('refuses owner options without --owners-out and a default owner outside the allowed domains', async () => {
    const a = capture(dir);
    expect(await main(['demo', '--default-owner', 'a@example.com'], a.io)).toBe(EXIT.usage);
    expect(a.stderr()).toContain('--default-owner needs --owners-out DIR');
    const b = capture(dir);
    expect(
      await main(
        [
          'demo',
          '--owners-out',
          'o',
          '--default-owner',
          'a@evil.com',
          '--owner-allowed-domains',
          'example.com',
        ],
        b.io,
      ),
    ).toBe(EXIT.usage);
    expect(b.stderr()).toContain('outside --owner-allowed-domains');
  });
});
