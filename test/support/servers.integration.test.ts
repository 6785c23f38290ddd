// Proves each local-server helper works for real: real processes, real sockets,
// the real client libraries Aviary uses. No mocks.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Octokit } from '@octokit/rest';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHttpServer, type GitHttpServer } from './git-http-server.js';
import { useGitHubServer } from './github-server.js';
import { startMariaDb, type MariaDb } from './mariadb.js';
import { startMoto } from './moto.js';
import { requireBinary } from './ports.js';

const exec = promisify(execFile);
const SLOW = 120_000;

/** Runs `fn` with PATH emptied, to see what a start function says when its binary is missing. */
async function withoutPath<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = '';
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('requireBinary', () => {
  it('names the missing binary and what to install', () => {
    expect(() => requireBinary('no-such-binary-aviary', 'install it with: apt-get install nothing')).toThrow(
      /no-such-binary-aviary not found on PATH: install it with: apt-get install nothing/,
    );
  });
});

describe('moto_server', () => {
  it('answers DynamoDB CreateTable and dies on stop', { timeout: SLOW }, async () => {
    const moto = await startMoto();
    try {
      const ddb = new DynamoDBClient({
        endpoint: moto.endpoint,
        region: 'us-west-2',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      const created = await ddb.send(
        new CreateTableCommand({
          TableName: 'aviary-sites',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      expect(created.TableDescription?.TableName).toBe('aviary-sites');
      expect((await ddb.send(new ListTablesCommand({}))).TableNames).toEqual(['aviary-sites']);
      ddb.destroy();
    } finally {
      await moto.stop();
    }
    expect(alive(moto.pid)).toBe(false);
  });

  it('says how to install moto when it is missing', async () => {
    await expect(withoutPath(() => startMoto())).rejects.toThrow(/moto_server not found.*pip install 'moto\[server\]'/);
  });
});

describe('MariaDB', () => {
  let db: MariaDb;
  beforeAll(async () => {
    db = await startMariaDb();
  }, SLOW);
  afterAll(() => db?.stop(), SLOW);

  it('accepts a mysql2 connection with the admin URL, with grant rights', async () => {
    const conn = await mysql.createConnection(db.url);
    try {
      const [rows] = await conn.query('SELECT 1 + 1 AS two');
      expect(rows).toEqual([{ two: 2 }]);
      await conn.query('CREATE DATABASE wp_rrr');
      await conn.query("CREATE USER 'wp_rrr'@'%' IDENTIFIED BY 'secret'");
      await conn.query("GRANT ALL PRIVILEGES ON wp_rrr.* TO 'wp_rrr'@'%'");
      await expect(conn.query('CREATE DATABASE wp_rrr')).rejects.toMatchObject({ code: 'ER_DB_CREATE_EXISTS' });
    } finally {
      await conn.end();
    }
  });

  it('refuses connections while down and keeps its data across restart', { timeout: SLOW }, async () => {
    await db.kill();
    await expect(mysql.createConnection(db.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await db.restart();
    const conn = await mysql.createConnection(db.url);
    try {
      const [rows] = await conn.query("SHOW DATABASES LIKE 'wp_rrr'");
      expect(rows).toHaveLength(1);
    } finally {
      await conn.end();
    }
  });

  it('hangs connections while paused and serves them again after resume', { timeout: SLOW }, async () => {
    db.pause();
    try {
      await expect(mysql.createConnection({ uri: db.url, connectTimeout: 500 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      db.resume();
    }
    const conn = await mysql.createConnection(db.url);
    await conn.end();
  });

  it('says how to install MariaDB when it is missing', async () => {
    await expect(withoutPath(() => startMariaDb())).rejects.toThrow(/not found.*scripts\/ensure-mariadb\.sh/);
  });

  it('removes its temp dir on stop', { timeout: SLOW }, async () => {
    const other = await startMariaDb();
    await other.stop();
    expect(existsSync(other.socket.replace(/\/sock$/, ''))).toBe(false);
  });
});

describe('git over HTTP with basic auth', () => {
  let root: string;
  let work: string;
  let server: GitHttpServer;
  const auth = (password: string) => `http.extraHeader=Authorization: Basic ${Buffer.from(`ci:${password}`).toString('base64')}`;
  // An isolated git: no user/system config, no prompt for credentials.
  const git = (cwd: string, password: string, ...args: string[]) =>
    exec('git', ['-c', auth(password), '-c', 'user.name=Aviary Test', '-c', 'user.email=test@aviary.invalid', ...args], {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'aviary-git-root-'));
    work = await mkdtemp(join(tmpdir(), 'aviary-git-work-'));
    await exec('git', ['init', '--bare', '--initial-branch=main', join(root, 'manifests.git')]);
    server = await startGitHttpServer({ root, user: 'ci', password: 's3cret' });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('clones, pushes and fetches with the right password', { timeout: SLOW }, async () => {
    const remote = `${server.url}/manifests.git`;
    await git(work, 's3cret', 'clone', remote, 'a');
    const a = join(work, 'a');
    await writeFile(join(a, 'site.yaml'), 'id: rrr\n');
    await git(a, 's3cret', 'add', '.');
    await git(a, 's3cret', 'commit', '-m', 'add rrr');
    await git(a, 's3cret', 'push', 'origin', 'HEAD:main');

    await git(work, 's3cret', 'clone', remote, 'b');
    const { stdout } = await git(join(work, 'b'), 's3cret', 'log', '--format=%s', 'origin/main');
    expect(stdout.trim()).toBe('add rrr');

    // A second push from b, then a fetch in a sees it.
    await writeFile(join(work, 'b', 'other.yaml'), 'id: sss\n');
    await git(join(work, 'b'), 's3cret', 'add', '.');
    await git(join(work, 'b'), 's3cret', 'commit', '-m', 'add sss');
    await git(join(work, 'b'), 's3cret', 'push', 'origin', 'main');
    await git(a, 's3cret', 'fetch', 'origin');
    expect((await git(a, 's3cret', 'log', '--format=%s', '-1', 'origin/main')).stdout.trim()).toBe('add sss');
  });

  it('refuses a wrong password and no credentials at once', { timeout: SLOW }, async () => {
    const before = server.requests;
    await expect(git(work, 'wrong', 'clone', `${server.url}/manifests.git`, 'c')).rejects.toThrow(
      // After a 401 git asks for credentials, which GIT_TERMINAL_PROMPT=0 turns into an immediate failure.
      /could not read Username.*terminal prompts disabled|Authentication failed/,
    );
    await expect(
      exec('git', ['clone', `${server.url}/manifests.git`, 'd'], { cwd: work, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }),
    ).rejects.toThrow(/terminal prompts disabled/);
    expect(server.requests).toBeGreaterThan(before);
  });

  it('says what to install when git is missing', async () => {
    await expect(withoutPath(() => startGitHttpServer({ root, user: 'u', password: 'p' }))).rejects.toThrow(/git not found/);
  });
});

describe('fake GitHub API with the real Octokit', () => {
  const gh = useGitHubServer({ token: 'ghp_good' });
  const quiet = { debug() {}, info() {}, warn() {}, error() {} }; // Octokit logs every failed request
  const octokit = (auth: string) => new Octokit({ auth, baseUrl: gh.url, log: quiet });

  it('creates a pull request, 422 on a duplicate, finds it by head', async () => {
    const ok = octokit('ghp_good');
    const pr = { owner: 'acme', repo: 'manifests', head: 'aviary/deploy', base: 'main', title: 'Deploy abc123' };
    const created = await ok.rest.pulls.create(pr);
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ number: 1, state: 'open', head: { label: 'acme:aviary/deploy' } });

    const dup = await ok.rest.pulls.create(pr).catch((e: unknown) => e);
    expect(dup).toMatchObject({
      status: 422,
      response: {
        data: {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', code: 'custom', message: 'A pull request already exists for acme:aviary/deploy.' }],
        },
      },
    });

    const open = await ok.rest.pulls.list({ owner: 'acme', repo: 'manifests', head: 'acme:aviary/deploy', state: 'open' });
    expect(open.data.map((p) => p.number)).toEqual([1]);

    const updated = await ok.rest.pulls.update({ owner: 'acme', repo: 'manifests', pull_number: 1, body: 'from input abc123' });
    expect(updated.data.body).toBe('from input abc123');
    expect((await ok.rest.pulls.get({ owner: 'acme', repo: 'manifests', pull_number: 1 })).data.body).toBe('from input abc123');
  });

  it('paginates with Link headers that Octokit follows', async () => {
    const ok = octokit('ghp_good');
    for (const n of [1, 2, 3, 4, 5]) {
      await ok.rest.pulls.create({ owner: 'acme', repo: 'many', head: `b${n}`, base: 'main', title: `pr ${n}` });
    }
    const first = await ok.rest.pulls.list({ owner: 'acme', repo: 'many', per_page: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.headers.link).toMatch(/rel="next"/);
    const all = await ok.paginate(ok.rest.pulls.list, { owner: 'acme', repo: 'many', per_page: 2 });
    expect(all.map((p) => p.number)).toEqual([5, 4, 3, 2, 1]);
  });

  it('adds, reads and edits issue comments', async () => {
    const ok = octokit('ghp_good');
    const c = await ok.rest.issues.createComment({ owner: 'acme', repo: 'manifests', issue_number: 1, body: 'plan: 1 site' });
    expect(c.status).toBe(201);
    await ok.rest.issues.updateComment({ owner: 'acme', repo: 'manifests', comment_id: c.data.id, body: 'plan: 2 sites' });
    expect((await ok.rest.issues.getComment({ owner: 'acme', repo: 'manifests', comment_id: c.data.id })).data.body).toBe('plan: 2 sites');
    const list = await ok.rest.issues.listComments({ owner: 'acme', repo: 'manifests', issue_number: 1 });
    expect(list.data.map((x) => x.body)).toEqual(['plan: 2 sites']);
    expect(gh.comments).toHaveLength(1);
  });

  it('answers 401 Bad credentials to a wrong token', async () => {
    const err = await octokit('ghp_bad').rest.pulls.get({ owner: 'acme', repo: 'manifests', pull_number: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, response: { data: { message: 'Bad credentials' } } });
  });

  it('can fail the next requests for retry tests', async () => {
    gh.failNext(1, 502);
    const err = await octokit('ghp_good').rest.pulls.get({ owner: 'acme', repo: 'manifests', pull_number: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502 });
    expect((await octokit('ghp_good').rest.pulls.get({ owner: 'acme', repo: 'manifests', pull_number: 1 })).status).toBe(200);
  });
});
