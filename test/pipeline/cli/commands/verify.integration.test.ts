// `aviary verify` against real local HTTP servers (one healthy, one failing,
// one slow, one that is not there) reached through --connect-to, and the Argo
// CD protocol server for "Synced at the published commit and Healthy".
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResolve } from '../../../../src/pipeline/stages/verify.js';
import { startArgoCdServer, fakeJwt, type ArgoCdServer } from '../../../support/argocd-server.js';
import { fleetDir, runCli, workdir, type Workdir } from '../../../support/cli.js';
import { canaryYaml, scratchDir } from '../../../support/fixtures.js';
import { bareRepo, git } from '../../../support/git.js';
import { closeServer, freePort, listenLocal } from '../../../support/ports.js';

const root = scratchDir('aviary-verify-');
const TOKEN = fakeJwt('aviary-verify');
let web: Server;
let port: number;
let argo: ArgoCdServer;
let w: Workdir;
let remote: string;
let published: string;
const hostsSeen: string[] = [];
const pins: string[] = [];
let greenBroken = true;

beforeAll(async () => {
  // One server, three behaviours by Host header, as a shared web tier serves many sites.
  web = createServer((req, res) => {
    hostsSeen.push(String(req.headers.host));
    const host = String(req.headers.host);
    if (host.startsWith('healthy.')) res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><title>Healthy</title>Welcome to WordPress</html>');
    else if (host.startsWith('broken.')) res.writeHead(500).end('Error establishing a database connection');
    else if (host.startsWith('slow.')) setTimeout(() => res.writeHead(200).end('Welcome to WordPress'), 1500);
    // A weighted site (blue 90, green 10) as ingress-nginx serves it: the pin header picks the canary (green) or not.
    else if (host.startsWith('split.')) {
      pins.push(String(req.headers['x-aviary-canary']));
      const green = req.headers['x-aviary-canary'] === 'always';
      if (green && greenBroken) res.writeHead(500).end('Error establishing a database connection');
      else res.writeHead(200).end(`Welcome to WordPress on ${green ? 'green' : 'blue'}`);
    }
    else res.writeHead(404).end();
  });
  port = await listenLocal(web);
  argo = await startArgoCdServer({ token: TOKEN, project: 'aviary' });
  remote = bareRepo(join(root, 'manifests.git'));
  const seed = join(root, 'seed');
  await git(root, 'clone', '-q', remote, seed);
  await git(seed, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '--allow-empty', '-m', 'deploy');
  await git(seed, 'push', '-q', 'origin', 'HEAD:main');
  published = (await git(remote, 'rev-parse', 'main')).trim();
  w = fleetDir(
    [{ id: 'healthy', hostnames: ['healthy.example.com'] }, { id: 'broken', hostnames: ['broken.example.com'] }, { id: 'slow', hostnames: ['slow.example.com'] }, { id: 'gone', hostnames: ['gone.example.com'] }],
    'ingress:\n  scheme: http\n',
  );
});
afterAll(async () => {
  w?.remove();
  await Promise.all([web && closeServer(web), argo?.stop()]);
});

const to = (host: string, p = port) => ['--connect-to', `${host}:80:127.0.0.1:${p}`];

describe('aviary verify', () => {
  it('passes a healthy site: status, text and time within the budget (exit 0)', async () => {
    const r = await w.run(['verify', 'healthy', ...to('healthy.example.com'), '--expect-text', 'Welcome to WordPress']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok {3}healthy {2}http:\/\/healthy\.example\.com\/ {2}200 in \d+ ms\n$/);
    expect(hostsSeen).toContain('healthy.example.com');
  });

  it('names each failed check (exit 1): a 500, a missing text, an answer over the budget', async () => {
    const r = await w.run(['verify', 'healthy', 'broken', 'slow', ...to('healthy.example.com'), ...to('broken.example.com'), ...to('slow.example.com'), '--expect-text', 'Welcome', '--budget', '500ms']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok {3}healthy /m);
    expect(r.stdout).toContain('http://broken.example.com/ answered 500, not 200');
    expect(r.stdout).toContain('http://broken.example.com/ does not contain "Welcome"');
    expect(r.stdout).toMatch(/http:\/\/slow\.example\.com\/ took \d+ ms, over the budget of 500 ms/);
    expect(r.stderr).toBe('error: 2 sites failed verification: broken, slow\n');
  });

  it('a weighted site: each color checked by a request pinned to it (X-Aviary-Canary), so a broken 10 % is always seen', async () => {
    const split = workdir({
      'sites.yaml': 'sites:\n  - id: split\n    name: Split\n    theme: astra\n    hostnames: [split.example.com]\n    service: green\n    ingress: { blue: 90, green: 10 }\n',
      'canary.yaml': canaryYaml({ extra: 'ingress:\n  scheme: http\n' }),
    });
    pins.length = 0;
    greenBroken = true;
    const r = await split.run(['verify', 'split', ...to('split.example.com'), '--expect-text', 'Welcome']);
    expect(r.code).toBe(1);
    expect(pins).toEqual(['never', 'always']);
    expect(r.stdout).toMatch(/^FAIL split  http:\/\/split\.example\.com\/  blue 200 in \d+ ms, green 500 in \d+ ms\n/);
    expect(r.stdout).toContain('http://split.example.com/ (green) answered 500, not 200');
    expect(r.stdout).not.toContain('(blue) answered');
    // --color picks one color of the split, pinned.
    const blue = await split.run(['verify', 'split', '--color', 'blue', ...to('split.example.com'), '--expect-text', 'on blue']);
    expect(blue.code, blue.stdout).toBe(0);
    greenBroken = false;
    const green = await split.run(['verify', 'split', '--color', 'green', ...to('split.example.com'), '--expect-text', 'on green']);
    expect(green.code, green.stdout).toBe(0);
    expect(green.stdout).toMatch(/^ok {3}split  http:\/\/split\.example\.com\/  green 200 in \d+ ms\n$/);
    split.remove();
  });

  it('a site that cannot be reached is exit 3, naming it', async () => {
    const closed = await freePort();
    const r = await w.run(['verify', 'healthy', 'gone', ...to('healthy.example.com'), ...to('gone.example.com', closed), '--json']);
    expect(r.code).toBe(3);
    const verdicts = JSON.parse(r.stdout) as { id: string; outcome: string; problems: string[] }[];
    expect(verdicts.map((v) => [v.id, v.outcome])).toEqual([['healthy', 'ok'], ['gone', 'unreachable']]);
    expect(verdicts[1]!.problems[0]).toMatch(/unreachable: ECONNREFUSED/);
    expect(r.stderr).toMatch(/^error: HTTP: verifying 2 sites failed: gone could not be reached/);
  });

  it('with Argo CD: waits for the Application Synced at the published commit and Healthy; fails naming what it is instead', async () => {
    const env = { AVIARY_ARGOCD_TOKEN: TOKEN };
    const args = ['verify', 'healthy', ...to('healthy.example.com'), '--repo', remote, '--argocd-url', argo.url, '--argocd-wait', '1s'];
    argo.apps.set('site-healthy', { project: 'aviary', revision: published });
    const ok = await runCli(args, { cwd: w.dir, env });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('(Application site-healthy: Synced, Healthy)');

    argo.apps.set('site-healthy', { project: 'aviary', revision: 'f'.repeat(40), health: 'Progressing' });
    const behind = await runCli(args, { cwd: w.dir, env });
    expect(behind.code).toBe(1);
    expect(behind.stdout).toContain(`Application site-healthy is Synced at ffffffffffff and Progressing, not Synced at ${published.slice(0, 12)} and Healthy`);
  });
});

describe('--resolve and --connect-to', () => {
  it('read as curl reads them; anything else is a usage error naming the value', () => {
    expect([...parseResolve(['Shop.example.com:443:10.0.0.7', 'v6.example.com:80:[::1]'], ['a.example.com:80:127.0.0.1:8080'])]).toEqual([
      ['shop.example.com:443', { address: '10.0.0.7' }],
      ['v6.example.com:80', { address: '::1' }],
      ['a.example.com:80', { address: '127.0.0.1', port: 8080 }],
    ]);
    expect(() => parseResolve(['shop.example.com:10.0.0.7'])).toThrow(/--resolve shop\.example\.com:10\.0\.0\.7: expected HOST:PORT:ADDRESS/);
    expect(() => parseResolve([], ['a:80:b'])).toThrow(/--connect-to a:80:b: expected HOST:PORT:ADDRESS:PORT/);
  });
});
