// A site's whole life through unattended CI, with its data watched at each
// step: removed by a merge (marked, nothing deleted), torn down after the
// grace period (a final backup first), brought back by `git revert` with
// the same rows, secret values and files; and the teardown that a wrong
// local sites.yaml must never be able to start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { fakeJwt, startArgoCdServer } from '../support/argocd-server.js';
import { deployedFleet } from '../support/ci.js';
import { expectOk, runCli } from '../support/cli.js';
import { sitesYaml } from '../support/fixtures.js';
import { gitSync, hasSiteFiles } from '../support/git.js';
import { adminSql, awsSide, cliEnv, registryStatus, TORN_DOWN, useFreshStore } from '../support/store.js';

const { aws, store: fleet } = useFreshStore();

const sqlName = (id: string) => `wp_${id.replaceAll('-', '_')}`;

async function rows(id: string): Promise<unknown[]> {
  return adminSql(async (c) => (await c.query(`SELECT id, title, body FROM \`${sqlName(id)}\`.posts ORDER BY id`))[0] as unknown[]);
}

async function secretValues(id: string): Promise<string[]> {
  const out: string[] = [];
  // The keys too: a site brought back keeps its users logged in.
  for (const kind of ['db', 'admin', 'keys']) out.push((await aws.secrets.send(new GetSecretValueCommand({ SecretId: `aviary/sites/${id}/${kind}` }))).SecretString!);
  return out;
}

async function keysUnder(prefix: string): Promise<string[]> {
  return ((await aws.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
}

describe('a site removed by unattended CI', () => {
  it('is marked, torn down after the grace period with a final backup, and brought back whole by git revert', async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    const b = base[1]!.id;
    // The site's data: rows (with a 4-byte character), an upload, its secrets.
    await adminSql(async (c) => {
      await c.query(`CREATE TABLE \`${sqlName(b)}\`.posts (id INT PRIMARY KEY, title VARCHAR(100), body BLOB) CHARACTER SET utf8mb4`);
      await c.query(`INSERT INTO \`${sqlName(b)}\`.posts VALUES (1, 'Hello 🐦', x'00ff10'), (2, 'Second', NULL)`);
    });
    await aws.s3.send(new PutObjectCommand({ Bucket: fleet.bucket, Key: `sites/${b}/uploads/2026/11/bird.jpg`, Body: 'jpeg bytes' }));
    const before = { rows: await rows(b), secrets: await secretValues(b), files: await keysUnder(`sites/${b}/`) };

    // The merge that removes b: its manifests go, its data stays (grace period).
    forge.pullRequest('remove-b', [base[0]!]);
    const removal = forge.merge('remove-b');
    const marked = await run(forge.checkout(removal), { teardown_grace: '1h' });
    expectOk(marked);
    expect(hasSiteFiles(manifests, b)).toBe(false);
    expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'terminating', dbSecret: 'present', database: true, user: true });
    expect(await rows(b)).toEqual(before.rows);

    // A re-run of the same commit once the grace period is over completes the teardown, backup first.
    const done = await run(forge.checkout(removal), { teardown_grace: '0' });
    expectOk(done);
    expect(await awsSide(aws, fleet, b)).toMatchObject(TORN_DOWN);
    const backups = await runCli(['hook', 'backups', b, '--json'], { cwd: forge.checkout(removal), env: cliEnv(fleet) });
    expectOk(backups);
    const [backup] = JSON.parse(backups.stdout) as { id: string; stamp: string; database: boolean; files: number }[];
    expect(backup).toMatchObject({ id: b, database: true, files: 2 });
    const dump = await aws.s3.send(new GetObjectCommand({ Bucket: fleet.bucket, Key: `backups/${b}/${backup!.stamp}/database.sql.gz` }));
    expect((await dump.Body!.transformToByteArray()).length).toBeGreaterThan(100);
    expect(await keysUnder(`backups/${b}/${backup!.stamp}/files/`)).toEqual(before.files.map((k) => k.replace(`sites/${b}/`, `backups/${b}/${backup!.stamp}/files/`)));

    // git revert of the removal: the site comes back with its data.
    gitSync(forge.dev, 'checkout', '-q', 'main');
    gitSync(forge.dev, 'pull', '-q', '--ff-only', 'origin', 'main');
    gitSync(forge.dev, 'revert', '--no-edit', '-m', '1', removal);
    gitSync(forge.dev, 'push', '-q', 'origin', 'main');
    const back = await run(forge.checkout(forge.main));
    expectOk(back);
    expect(hasSiteFiles(manifests, b)).toBe(true);
    expect(await registryStatus(aws, fleet.table, b)).toBe('ready');
    expect(await rows(b)).toEqual(before.rows);
    expect(await secretValues(b)).toEqual(before.secrets);
    expect(await keysUnder(`sites/${b}/`)).toEqual(before.files);
    // The tenant logs in with the restored password.
    expect((await awsSide(aws, fleet, b)).user).toBe(true);
  }, 240_000);

  it('is re-added before the grace period ends: nothing was deleted, nothing to restore', async () => {
    const { base, forge, run } = await deployedFleet(fleet);
    const b = base[1]!.id;
    forge.pullRequest('remove-b', [base[0]!]);
    const removal = forge.merge('remove-b');
    expectOk(await run(forge.checkout(removal), { teardown_grace: '1h' }));
    expect(await registryStatus(aws, fleet.table, b)).toBe('terminating');
    gitSync(forge.dev, 'revert', '--no-edit', '-m', '1', removal);
    gitSync(forge.dev, 'push', '-q', 'origin', 'main');
    expectOk(await run(forge.checkout(forge.main), { teardown_grace: '0' }));
    expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'ready', dbSecret: 'present', database: true, user: true });
  }, 240_000);
});

describe('a removal a newer merge already undid', () => {
  it('is refused by the late pipeline (exit 1) after its publish; the next pipeline brings the manifests back', async () => {
    const { base, forge, manifests, run } = await deployedFleet(fleet);
    const b = base[1]!.id;
    forge.pullRequest('remove-b', [base[0]!]);
    const ci = forge.checkout(forge.merge('remove-b'));
    forge.pullRequest('re-add-b', base);
    forge.merge('re-add-b');
    const late = await run(ci, { teardown_grace: '0' });
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`refusing to tear down ${b} (declared in sites.yaml on main of the config repo's remote origin)`);
    expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'ready', dbSecret: 'present', database: true, user: true });
    expectOk(await run(forge.checkout(forge.main), { teardown_grace: '0' }));
    expect(hasSiteFiles(manifests, b)).toBe(true);
    expect((await awsSide(aws, fleet, b)).database).toBe(true);
  }, 240_000);
});

describe('aviary hook teardown trusts no local file', () => {
  it('refuses (exit 1) a site the config remote still declares and the manifests branch still publishes', async () => {
    const { base, forge, manifests } = await deployedFleet(fleet);
    const b = base[1]!.id;
    const ci = forge.checkout(forge.main);
    // An emptied sites.yaml, uncommitted.
    writeFileSync(join(ci, 'sites.yaml'), sitesYaml([base[0]!]));
    const r = await runCli(['hook', 'teardown', b, '--manifests-repo', manifests, '--teardown-grace', '0'], { cwd: ci, env: cliEnv(fleet) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refusing to tear down ${b} (declared in sites.yaml on main of the config repo's remote origin; published on main of ${manifests})`);
    // Another file passed with --sites, and a local commit never pushed: refused alike.
    writeFileSync(join(ci, 'other.yaml'), sitesYaml([base[0]!]));
    const other = await runCli(['hook', 'teardown', b, '--sites', 'other.yaml', '--manifests-repo', manifests, '--teardown-grace', '0'], { cwd: ci, env: cliEnv(fleet) });
    expect(other.code).toBe(1);
    gitSync(ci, 'checkout', '-q', '-B', 'local');
    gitSync(ci, 'commit', '-q', '-am', 'drop b locally');
    const local = await runCli(['hook', 'teardown', b, '--manifests-repo', manifests, '--teardown-grace', '0'], { cwd: ci, env: cliEnv(fleet) });
    expect(local.code).toBe(1);
    expect(local.stderr).toContain('declared in sites.yaml on main of the config repo');
    expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'ready', dbSecret: 'present', database: true, user: true });
  }, 240_000);
});

describe('every pipeline run converges the AWS side', () => {
  it('provisions again a declared site whose database and files were removed out of band', async () => {
    const { base, forge, run } = await deployedFleet(fleet);
    const a = base[0]!.id;
    await adminSql((c) => c.query(`DROP DATABASE \`${sqlName(a)}\``));
    await aws.s3.send(new DeleteObjectCommand({ Bucket: fleet.bucket, Key: `sites/${a}/.keep` }));
    // A re-run of the commit already deployed: nothing is new since the last deploy, yet the site is incomplete.
    const again = await run(forge.checkout(forge.main));
    expectOk(again);
    expect(again.stderr).toContain(`incomplete, provisioned again: ${a} (no database, no S3 prefix)`);
    expect(await awsSide(aws, fleet, a)).toMatchObject({ registry: 'ready', database: true, user: true, s3: [`sites/${a}/.keep`] });
    expect((await awsSide(aws, fleet, base[1]!.id)).database).toBe(true);
  }, 180_000);
});

describe('with Argo CD', () => {
  it('deletes the removed site\'s Application with its objects, waits until it is gone before its data goes, and keeps the data when it does not go', async () => {
    const token = fakeJwt('aviary-ci');
    const argocd = await startArgoCdServer({ token });
    try {
      const { base, forge, run } = await deployedFleet(fleet);
      const b = base[1]!.id;
      argocd.apps.set(`site-${b}`, { project: 'aviary' });
      argocd.apps.set(`site-${base[0]!.id}`, { project: 'aviary' });
      forge.pullRequest('remove-b', [base[0]!]);
      const removal = forge.merge('remove-b');
      const withArgo = (wait: string) => ({ teardown_grace: '0', argocd_url: argocd.url, argocd_token: token, argocd_wait: wait });

      // The ApplicationSet never deletes an Application: the pipeline asks Argo CD to, with its objects. Here
      // the deletion does not finish: the site's pods may still serve, so nothing of its data is deleted.
      const stuck = await run(forge.checkout(removal), withArgo('2s'));
      expect(argocd.deleted.map((d) => d.name)).toEqual([`site-${b}`, `site-${b}`]);
      expect(argocd.deleted[0]).toEqual({ name: `site-${b}`, cascade: 'true', propagationPolicy: 'foreground', project: 'aviary' });
      expect(argocd.apps.has(`site-${base[0]!.id}`)).toBe(true);
      expect(stuck.code).toBe(3);
      expect(stuck.stderr).toContain(`Application site-${b}`);
      expect(stuck.stderr).not.toContain(token);
      expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'terminating', database: true, user: true, dbSecret: 'present' });

      // It finishes the cascade delete a couple of polls later: the re-run waits for it, then tears down.
      argocd.finishDeletesAfter(2);
      const done = await run(forge.checkout(removal), withArgo('2m'));
      expectOk(done);
      expect(await awsSide(aws, fleet, b)).toMatchObject({ registry: 'terminated', database: false, user: false });
      const polls = argocd.requests.filter((r) => r.path.startsWith(`/api/v1/applications/site-${b}`));
      expect(polls.length).toBeGreaterThanOrEqual(3);
      expect(polls.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
    } finally {
      await argocd.stop();
    }
  }, 240_000);
});
