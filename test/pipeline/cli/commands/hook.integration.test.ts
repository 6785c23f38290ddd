// The real `aviary hook` process (built into lib/) against the shared
// moto_server and MariaDB: which sites, refusals, exit statuses, settings,
// and no secret in any output.
import { writeFileSync } from 'node:fs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { fleetDir, runCli, type CliResult } from '../../../support/cli.js';
import { canaryYaml, sitesYaml } from '../../../support/fixtures.js';
import { commitFiles, gitSync, initRepo, manifestsRepo } from '../../../support/git.js';
import { cliEnv, mariadb, uniq, useFreshStore } from '../../../support/store.js';

const { aws, store } = useFreshStore();

/** Every output of every run, checked at the end for secrets. */
const outputs: CliResult[] = [];
const secretsSeen = new Set<string>();

async function cli(args: string[], cwd: string, env: Record<string, string | undefined> = cliEnv(store)): Promise<CliResult> {
  const r = await runCli(args, { cwd, env });
  outputs.push(r);
  return r;
}

async function status(id: string): Promise<string | undefined> {
  return (await aws.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { id: { S: id } } }))).Item?.status?.S;
}

async function remember(id: string): Promise<void> {
  for (const kind of ['db', 'admin', 'keys']) {
    const v = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${id}/${kind}` }))).SecretString!) as Record<string, string>;
    for (const value of kind === 'keys' ? Object.values(v) : [v.password!]) secretsSeen.add(value);
  }
}

beforeAll(() => {
  secretsSeen.add(mariadb().adminPassword);
});

describe('aviary hook (CLI)', () => {
  it('init creates the table and bucket once, then reports them unchanged', async () => {
    const own = { table: uniq('init-'), bucket: uniq('init-') };
    const { dir } = fleetDir([]);
    const first = await cli(['hook', 'init', '--json'], dir, cliEnv(own));
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      table: { name: own.table, outcome: 'created' },
      bucket: { name: own.bucket, outcome: 'created' },
      backupExpiry: { days: 7, outcome: 'created' },
    });
    const second = await cli(['hook', 'init'], dir, cliEnv(own));
    expect(second.stdout).toBe(`table ${own.table}: unchanged\nbucket ${own.bucket}: unchanged\nbackups expire after 7 days: unchanged\n`);
  });

  it('with no ids, provisions the sites new since the last deploy and tears down the ones removed', async () => {
    const [a, b, c] = [uniq('a-'), uniq('b-'), uniq('c-')];
    const config = initRepo();
    const manifests = manifestsRepo();
    const run = (cmd: string, ...rest: string[]) => cli(['hook', cmd, '--manifests-repo', manifests.bare, ...rest], config);

    // Nothing published yet: every declared site is new, none removed.
    const deployed = commitFiles(config, { 'sites.yaml': sitesYaml([{ id: a }, { id: b }]), 'canary.yaml': canaryYaml() });
    const first = await run('provision');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Provisioned 2 site(s): ${a}, ${b}`);
    expect(await run('teardown')).toMatchObject({ code: 0, stdout: 'Nothing to tear down.\n' });
    manifests.publish(deployed);

    // Now b is removed and c added (the working tree, as the pipeline sees it before committing anything).
    writeFileSync(`${config}/sites.yaml`, sitesYaml([{ id: a }, { id: c }]));
    const second = await run('provision', '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).provisioned).toEqual([c]);
    expect(await status(c)).toBe('ready');

    // Teardown trusts no working tree: the removal must be committed (HEAD is all this remote-less repo has).
    const uncommitted = await run('teardown', '--teardown-grace', '0');
    expect(uncommitted.code).toBe(0);
    expect(uncommitted.stdout).toContain(`left alone, still live: ${b} (declared in sites.yaml at HEAD`);
    expect(await status(b)).toBe('ready');
    gitSync(config, 'commit', '-q', '-am', 'remove b, add c');

    const down = await run('teardown', '--teardown-grace', '0');
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`Tore down 1 site(s): ${b}`);
    expect(await status(b)).toBe('terminated');
    expect(await status(a)).toBe('ready');
    for (const id of [a, c]) await remember(id);
    await remember(b).catch(() => undefined); // scheduled for deletion: moto may refuse to read it

    // Declared again and restored by hand from its final backup; a live site is never restored over.
    const backups = await run('backups', b, '--json');
    expect(backups.code, backups.stderr).toBe(0);
    expect(JSON.parse(backups.stdout)).toMatchObject([{ id: b, database: true, files: 1 }]);
    writeFileSync(`${config}/sites.yaml`, sitesYaml([{ id: a }, { id: b }, { id: c }]));
    const restored = await run('restore', b);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`Restored 1 site(s): ${b}`);
    expect(await status(b)).toBe('ready');
    await remember(b);
    const over = await run('restore', b);
    expect(over.code, over.stdout + over.stderr).toBe(1);
    expect(over.stderr).toContain(`site ${b} is live (registry status ready)`);
    const undeclared = await run('restore', uniq('ghost-'));
    expect(undeclared.code).toBe(1);
  });

  it('refuses an unconfirmed mass teardown and deletes nothing; --dry-run prints the plan; --confirm N proceeds', async () => {
    const ids = [uniq('m1-'), uniq('m2-')];
    const config = initRepo();
    const fleet = { dir: config, sites: `${config}/sites.yaml` };
    commitFiles(config, { 'sites.yaml': sitesYaml(ids.map((id) => ({ id }))), 'canary.yaml': canaryYaml() });
    const manifests = manifestsRepo();
    expect((await cli(['hook', 'provision', ...ids], fleet.dir)).code).toBe(0);
    for (const id of ids) await remember(id);
    await aws.s3.send(new PutObjectCommand({ Bucket: store.bucket, Key: `sites/${ids[0]}/upload.jpg`, Body: 'x' }));
    commitFiles(config, { 'sites.yaml': sitesYaml([]) }, 'remove both');

    const refused = await cli(['hook', 'teardown', ...ids], fleet.dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`refusing to tear down 2 sites at once (${ids.join(', ')})`);
    expect(refused.stderr).toContain('--confirm 2');
    const wrong = await cli(['hook', 'teardown', ...ids, '--confirm', '3'], fleet.dir);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('--confirm 3 does not match the 2 site(s)');

    const dry = await cli(['hook', 'teardown', ...ids, '--dry-run', '--recovery-days', '30'], fleet.dir);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`secrets aviary/sites/${ids[0]}/db, aviary/sites/${ids[0]}/admin, aviary/sites/${ids[0]}/keys: delete with a 30-day recovery window`);
    expect(dry.stdout).toContain(`MySQL: drop user wp_${ids[1]!.replace('-', '_')}`);
    expect(dry.stdout).toContain('Without --dry-run this would be refused');
    expect(dry.stdout).toContain('Dry run: nothing was deleted.');

    for (const id of ids) {
      expect(await status(id)).toBe('ready');
      expect((await aws.secrets.send(new DescribeSecretCommand({ SecretId: `aviary/sites/${id}/db` }))).DeletedDate).toBeUndefined();
    }

    const done = await cli(['hook', 'teardown', ...ids, '--confirm', '2', '--recovery-days', '30', '--teardown-grace', '0', '--manifests-repo', manifests.bare], fleet.dir);
    expect(done.code, done.stderr).toBe(0);
    for (const id of ids) expect(await status(id)).toBe('terminated');
  });

  it('refuses to provision undeclared ids and to tear down declared ones, naming them', async () => {
    const fleet = fleetDir([{ id: 'declared' }]);
    const p = await cli(['hook', 'provision', 'ghost'], fleet.dir);
    expect(p).toMatchObject({ code: 1 });
    expect(p.stderr).toContain('not declared in sites.yaml: ghost');
    const t = await cli(['hook', 'teardown', 'declared'], fleet.dir);
    expect(t).toMatchObject({ code: 1 });
    expect(t.stderr).toContain('still declared in sites.yaml: declared');
    const r = await cli(['hook', 'teardown', 'x', '--recovery-days', '5'], fleet.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--recovery-days must be a whole number from 7 to 30');
  });

  it('names every missing setting (exit 2) and asks for ids or --manifests-repo', async () => {
    const id = uniq('cfg-');
    const fleet = fleetDir([{ id }]);
    const env = { ...cliEnv(store), AVIARY_TABLE: undefined, AVIARY_BUCKET: undefined, AVIARY_MYSQL_URL: undefined };
    const r = await cli(['hook', 'provision', id], fleet.dir, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing settings: --table (or AVIARY_TABLE), --bucket (or AVIARY_BUCKET), --mysql-url (or AVIARY_MYSQL_URL)');
    const noIds = await cli(['hook', 'provision'], fleet.dir);
    expect(noIds.code).toBe(2);
    expect(noIds.stderr).toContain('--manifests-repo (or AVIARY_MANIFESTS_REPO)');
  });

  it('takes the MySQL admin password from AVIARY_MYSQL_SECRET, the pods\' host from --db-host, and the prefix from canary.yaml', async () => {
    const db = mariadb();
    const secretName = uniq('aviary/mysql-admin-');
    await aws.secrets.send(new CreateSecretCommand({ Name: secretName, SecretString: JSON.stringify({ username: db.adminUser, password: db.adminPassword }) }));
    const id = uniq('sec-');
    const fleet = fleetDir([{ id }], 'secrets:\n  prefix: team-a/wp\n');
    const env = { ...cliEnv(store), AVIARY_MYSQL_URL: `mysql://${db.host}:${db.port}`, AVIARY_MYSQL_SECRET: secretName };
    const r = await cli(['hook', 'provision', id, '--db-host', 'mysql.prod.internal:3307'], fleet.dir, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const value = JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `team-a/wp/${id}/db` }))).SecretString!);
    expect(value).toMatchObject({ host: 'mysql.prod.internal', port: '3307' });
    secretsSeen.add(value.password);
  });

  it('an outside failure exits 3 naming the site and step, without the admin password', async () => {
    const id = uniq('down-');
    const fleet = fleetDir([{ id }]);
    const db = mariadb();
    const badPassword = 'wrong-Passw0rd-that-must-not-leak';
    secretsSeen.add(badPassword);
    const env = { ...cliEnv(store), AVIARY_MYSQL_URL: `mysql://${db.adminUser}:${badPassword}@${db.host}:${db.port}` };
    const r = await cli(['hook', 'provision', id], fleet.dir, env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^error: MySQL: site ${id}: database wp_${id.replace('-', '_')} failed: Access denied`, 'm'));
    const down = await cli(['hook', 'provision', id], fleet.dir, { ...cliEnv(store, 'http://127.0.0.1:9') });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(new RegExp(`^error: AWS DynamoDB: site ${id}: registry item in ${store.table} failed`, 'm'));
  });

  it('masks credentials in a URL and in a library\'s debug log (DEBUG=simple-git)', async () => {
    const token = 'ghp_urlToken-in-manifests-repo-42';
    secretsSeen.add(token);
    const config = initRepo();
    commitFiles(config, { 'sites.yaml': sitesYaml([]), 'canary.yaml': canaryYaml() });
    const r = await cli(['hook', 'teardown', uniq('gone-'), '--manifests-repo', `http://bot:${token}@127.0.0.1:9/m.git`, '--teardown-grace', '0'], config, {
      ...cliEnv(store),
      DEBUG: 'simple-git,simple-git:*',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('simple-git'); // the debug log did run
    expect(`${r.stdout}${r.stderr}`).not.toContain(token);
  });

  it('never prints a password or secret value', () => {
    expect(outputs.length).toBeGreaterThan(10);
    expect(secretsSeen.size).toBeGreaterThan(8);
    for (const out of outputs) {
      for (const secret of secretsSeen) {
        expect(out.stdout).not.toContain(secret);
        expect(out.stderr).not.toContain(secret);
      }
    }
  });
});
