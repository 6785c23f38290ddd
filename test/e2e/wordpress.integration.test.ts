// The reference web image (examples/image) serving a fleet for real: sites
// provisioned by the real hook against moto and MariaDB, manifests rendered
// by the real charts, the files of a web pod made from them as External
// Secrets and the kubelet would make them (support/kubelet.ts), and Debian's
// WordPress with the image's wp-config.php served by `php -S`: two replicas
// of blue on one pod's files, a green pod on its own, and blue's files
// served by Apache with the image's own virtual host. Each site is
// installed through WordPress's own installer (what `wp core install` runs),
// then everything is checked over HTTP with the Host the ingress passes on.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFleet } from '../../src/charts/render.js';
import { hookContext } from '../../src/pipeline/hook/context.js';
import { provisionSites } from '../../src/pipeline/hook/provision.js';
import { Redactor } from '../../src/pipeline/hook/redact.js';
import { siteNames, WP_KEYS } from '../../src/sites/names.js';
import type { Fleet, Site } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, scratchDir, siteEntry } from '../support/fixtures.js';
import { materializePod, type K8sObject, type PodFiles } from '../support/kubelet.js';
import { parseManifests } from '../support/manifests.js';
import { adminSql, mariadb, uniq, useFreshStore } from '../support/store.js';
import { CookieJar, http, installSite, makeDocroot, requireWordPress, runAsWpCli, startApache, startPhpServer, TEST_THEME, titleOf, type PhpServer } from '../support/wordpress.js';

const { aws, store } = useFreshStore();
const scratch = scratchDir('aviary-wordpress-');

const DOMAIN = 'aviary.test';
const PREVIEW = `preview.${DOMAIN}`;

interface World {
  fleet: Fleet;
  a: Site;
  b: Site;
  /** Declared (in the host map) but never provisioned: its secrets never reach the pod. */
  c: Site;
  blue: PodFiles;
  docroot: string;
  /** Two replicas of blue, one pod's files. */
  replicas: [PhpServer, PhpServer];
  /** A pod of green, with files of its own. */
  green: PhpServer;
  /** Blue's files served by Apache with the image's own virtual host. */
  apache: PhpServer;
}
const world = {} as World;
const servers: PhpServer[] = [];

const urlOf = (site: Site) => `https://${site.canonicalHostname}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function adminOf(site: Site): Promise<{ username: string; email: string; password: string }> {
  const name = siteNames(site.id, world.fleet.canary.settings).adminSecretId;
  return JSON.parse((await aws.secrets.send(new GetSecretValueCommand({ SecretId: name }))).SecretString!) as { username: string; email: string; password: string };
}

/** The fleet of the test: a and b on blue, and c, whose shard of secrets is none of theirs (so a missing c leaves them alone). */
function fleetOf(a: string, b: string, c: string): Fleet {
  return buildFleet(
    [
      siteEntry(a, { name: 'Alpha | Ünïcødé café', theme: TEST_THEME, hostnames: [`${a}.${DOMAIN}`, `www.${a}.${DOMAIN}`], canonicalHostname: `www.${a}.${DOMAIN}` }),
      siteEntry(b, { name: 'Beta | birds', theme: TEST_THEME, hostnames: [`${b}.${DOMAIN}`] }),
      siteEntry(c, { name: 'Gamma', theme: TEST_THEME, hostnames: [`${c}.${DOMAIN}`] }),
    ],
    canaryDoc({ previewDomain: PREVIEW }),
  );
}

/** The rendered objects of every file of the fleet, read back from their YAML. */
function objectsOf(fleet: Fleet): K8sObject[] {
  return renderFleet(fleet).flatMap((f) => parseManifests(f.content));
}

/** The ExternalSecret whose data lists a site's files. */
function secretsShardOf(objects: readonly K8sObject[], id: string): string | undefined {
  return objects.find((o) => o.kind === 'ExternalSecret' && (o.spec?.data ?? []).some((d: K8sObject) => d.secretKey === `${id}.db`))?.metadata?.name;
}

beforeAll(async () => {
  requireWordPress();
  const a = uniq('wpa-');
  const b = uniq('wpb-');
  let objects: K8sObject[] = [];
  let c = '';
  for (let i = 0; i < 100 && !c; i++) {
    const candidate = uniq('wpc-');
    objects = objectsOf(fleetOf(a, b, candidate));
    const shard = secretsShardOf(objects, candidate);
    if (shard && shard !== secretsShardOf(objects, a) && shard !== secretsShardOf(objects, b)) c = candidate;
  }
  if (!c) throw new Error('no site id found whose secrets shard differs from the other two sites');
  world.fleet = fleetOf(a, b, c);
  const byId = (id: string) => world.fleet.sites.find((s) => s.id === id)!;
  Object.assign(world, { a: byId(a), b: byId(b), c: byId(c) });

  // The real hook, with the db secret pointing at the test's MariaDB (what the pods connect to).
  const db = mariadb();
  const ctx = hookContext({
    config: {
      table: store.table,
      bucket: store.bucket,
      secretPrefix: world.fleet.canary.settings.secrets.prefix,
      mysql: { host: db.host, port: db.port, user: db.adminUser, password: db.adminPassword },
      dbHost: db.host,
      dbPort: db.port,
    },
    aws,
    redactor: new Redactor(),
    retry: { retries: 0, minTimeoutMs: 20, maxTimeoutMs: 100 },
  });
  await provisionSites(ctx, [world.a, world.b]);

  // What a blue pod and a green pod see: c's shard of secrets cannot sync (its secrets do not exist).
  objects = objectsOf(world.fleet);
  world.blue = await materializePod({ objects, deployment: 'blue-deployment', root: join(scratch, 'blue-pod'), secrets: aws.secrets, missingSecrets: 'omit' });
  const green = await materializePod({ objects, deployment: 'green-deployment', root: join(scratch, 'green-pod'), secrets: aws.secrets, missingSecrets: 'omit' });
  for (const pod of [world.blue, green]) {
    expect(pod.unsynced.map((u) => u.name)).toEqual([secretsShardOf(objects, c)]);
    expect(pod.unsynced[0]!.reason).toContain(`${siteNames(c, world.fleet.canary.settings).dbSecretId}`);
  }

  world.docroot = makeDocroot(join(scratch, 'docroot'));
  for (const env of [world.blue.env, world.blue.env, green.env]) servers.push(await startPhpServer(world.docroot, env));
  world.replicas = [servers[0]!, servers[1]!];
  world.green = servers[2]!;
  // Apache's workers run as www-data: they must reach the docroot and the pod's files.
  chmodSync(scratch, 0o755);
  mkdirSync(join(scratch, 'apache'));
  world.apache = await startApache(world.docroot, world.blue.env, join(scratch, 'apache'));
  servers.push(world.apache);

  // Each site installed as its install Job does it (wp core install --url=<its URL>), in a pod that
  // mounts only what the Job's spec mounts: its canonical host's entry and its own two secret files.
  for (const site of [world.a, world.b]) {
    const job = objects.find((o) => o.kind === 'Job' && o.metadata?.labels?.['aviary.io/site'] === site.id && o.metadata?.labels?.['aviary.io/job'] === 'install')!;
    const pod = await materializePod({ objects, kind: 'Job', deployment: job.metadata.name, root: join(scratch, `${site.id}-install`), secrets: aws.secrets, envFrom: 'skip' });
    expect(readdirSync(join(pod.root, '/etc/aviary/secrets')).filter((f) => !f.startsWith('..')).sort()).toEqual([`${site.id}.db`, `${site.id}.keys`]);
    const installed = await installSite(world.docroot, pod.env, { url: urlOf(site), title: site.name, admin: await adminOf(site), theme: site.theme });
    expect(installed).toBe(true);
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Adds the servers' logs to a failure, so a PHP error explains itself. */
function withLogs<T>(fn: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      return await fn();
    } catch (error) {
      const logs = servers.map((s, i) => `--- php -S #${i}\n${s.log().split('\n').slice(-30).join('\n')}`).join('\n');
      if (error instanceof Error) error.message += `\n${logs}`;
      throw error;
    }
  };
}

describe('the reference web image, serving a fleet from the generated objects', () => {
  it('gives a pod the contract: the environment, a file per hostname, and the secrets of every site whose shard synced', async () => {
    const { env, root } = world.blue;
    const settings = world.fleet.canary.settings;
    expect(env.AVIARY_COLOR).toBe('blue');
    expect(world.blue.mounts.map((m) => m.mountPath).sort()).toEqual(['/etc/aviary/canary', '/etc/aviary/secrets', '/etc/aviary/sites']);
    expect([env.AVIARY_SITES_DIR, env.AVIARY_SECRETS_DIR, env.AVIARY_CANARY_FILE]).toEqual(
      ['/etc/aviary/sites', '/etc/aviary/secrets', '/etc/aviary/canary/canaryEnv'].map((p) => join(root, p)),
    );

    const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith('..')).sort();
    const hosts = [world.a, world.b, world.c].flatMap((s) => [...s.hostnames, `${s.id}.${PREVIEW}`]);
    expect(visible(env.AVIARY_SITES_DIR!)).toEqual([...hosts].sort());
    for (const site of [world.a, world.b, world.c]) {
      const entry = JSON.parse(readFileSync(join(env.AVIARY_SITES_DIR!, site.hostnames[0]!), 'utf8')) as Record<string, unknown>;
      expect(entry).toMatchObject({ id: site.id, url: urlOf(site), s3Prefix: `sites/${site.id}/` });
    }
    // c's shard did not sync, so none of its files are there; a's and b's are the secrets verbatim.
    expect(visible(env.AVIARY_SECRETS_DIR!)).toEqual([`${world.a.id}.db`, `${world.a.id}.keys`, `${world.b.id}.db`, `${world.b.id}.keys`].sort());
    for (const site of [world.a, world.b]) {
      const names = siteNames(site.id, settings);
      for (const [file, secret] of [[`${site.id}.db`, names.dbSecretId], [`${site.id}.keys`, names.keysSecretId]] as const) {
        const stored = (await aws.secrets.send(new GetSecretValueCommand({ SecretId: secret }))).SecretString;
        // A boolean, so that a failure does not print a secret.
        expect(readFileSync(join(env.AVIARY_SECRETS_DIR!, file), 'utf8') === stored, `${file} is ${secret} verbatim`).toBe(true);
      }
      const db = JSON.parse(readFileSync(join(env.AVIARY_SECRETS_DIR!, `${site.id}.db`), 'utf8')) as Record<string, string>;
      expect([db.host, db.port, db.database, db.username]).toEqual([mariadb().host, String(mariadb().port), names.database, names.databaseUser]);
      const keys = JSON.parse(readFileSync(join(env.AVIARY_SECRETS_DIR!, `${site.id}.keys`), 'utf8')) as Record<string, string>;
      expect(Object.keys(keys).sort()).toEqual([...WP_KEYS].sort());
      expect(Object.values(keys).every((k) => typeof k === 'string' && k.length >= 32), 'every key is long').toBe(true);
    }
    expect(JSON.parse(readFileSync(env.AVIARY_CANARY_FILE!, 'utf8'))).toEqual({ selector: 'green', image: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) });
  });

  it(
    'loads a site under WP-CLI (by --url), and refuses a URL that is no site',
    withLogs(async () => {
      const b = await runAsWpCli(world.docroot, world.blue.env, urlOf(world.b), "echo json_encode([get_option('blogname'), AVIARY_SITE_ID, DB_NAME, home_url()]);");
      expect(b.code, b.stderr).toBe(0);
      expect(JSON.parse(b.stdout.trim().split('\n').pop()!)).toEqual([world.b.name, world.b.id, siteNames(world.b.id, world.fleet.canary.settings).database, urlOf(world.b)]);
      const unknown = await runAsWpCli(world.docroot, world.blue.env, `https://nobody.${DOMAIN}`, "echo 'loaded';");
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).not.toContain('loaded');
      expect(unknown.stderr).toContain(`nobody.${DOMAIN}`);
      const notReady = await runAsWpCli(world.docroot, world.blue.env, urlOf(world.c), "echo 'loaded';");
      expect(notReady.code).toBe(1);
      expect(notReady.stderr).toContain(world.c.id);
    }),
  );

  it(
    'serves each site at its hostnames with its own title, id and database',
    withLogs(async () => {
      for (const site of [world.a, world.b]) {
        for (const server of [...world.replicas, world.green, world.apache]) {
          const home = await http(server.url, '/', { host: site.canonicalHostname });
          expect(home.status, `${site.id} on ${server.url}`).toBe(200);
          expect(titleOf(home.body)).toBe(site.name);
          expect(home.body).toContain(`<meta name="aviary-site" content="${site.id}">`);
        }
        const rows = await adminSql(async (c) => {
          const [r] = await c.query(`SELECT option_name, option_value FROM \`${siteNames(site.id, world.fleet.canary.settings).database}\`.wp_options WHERE option_name IN ('blogname', 'siteurl', 'template')`);
          return Object.fromEntries((r as { option_name: string; option_value: string }[]).map((x) => [x.option_name, x.option_value]));
        });
        expect(rows).toEqual({ blogname: site.name, siteurl: urlOf(site), template: TEST_THEME });
      }
      // The Host as browsers may send it: any case, with a port (WordPress then redirects to its URL).
      const upper = await http(world.replicas[0].url, '/', { host: `${world.b.canonicalHostname.toUpperCase()}:443` });
      expect(upper.status).toBe(301);
      expect(String(upper.headers.location).toLowerCase()).toBe(`${urlOf(world.b)}/`);
    }),
  );

  it(
    'redirects the www twin of the canonical hostname to the canonical URL',
    withLogs(async () => {
      const twin = await http(world.replicas[0].url, '/', { host: `${world.a.id}.${DOMAIN}` });
      expect(twin.status).toBe(301);
      expect(twin.headers.location).toBe(`${urlOf(world.a)}/`);
    }),
  );

  it(
    'serves the preview hostname at its own URL, so the preview stays on the preview (and on the site\'s color)',
    withLogs(async () => {
      const host = `${world.a.id}.${PREVIEW}`;
      const preview = await http(world.replicas[1].url, '/', { host });
      expect(preview.status).toBe(200);
      expect(titleOf(preview.body)).toBe(world.a.name);
      // Links (here: the REST API's) point at the preview hostname, not at the public one on the other color.
      expect(String(preview.headers.link)).toContain(`https://${host}/`);
      expect(preview.body).not.toContain(urlOf(world.a));
    }),
  );

  it(
    'answers 404 for an unknown or malformed host without loading WordPress',
    withLogs(async () => {
      for (const host of [`nobody.${DOMAIN}`, `${world.a.id}.${DOMAIN}.evil.example`, '..', 'a_b.example.com', '']) {
        const res = await http(world.replicas[0].url, '/', { host });
        expect(res.status, `Host: ${JSON.stringify(host)}`).toBe(404);
        expect(res.body).not.toMatch(/wp-|wordpress/i);
      }
    }),
  );

  it(
    'refuses the install and setup wizards on a known host',
    withLogs(async () => {
      for (const server of [world.replicas[0], world.apache]) {
        for (const path of ['/wp-admin/install.php', '/wp-admin/install.php?step=1', '/wp-admin/setup-config.php', '/wp-admin//install.php', '/wp-admin/install%2ephp']) {
          for (const method of ['GET', 'POST']) {
            const res = await http(server.url, path, { host: world.a.canonicalHostname, method, ...(method === 'POST' ? { form: { weblog_title: 'x' } } : {}) });
            expect(res.status, `${method} ${path} on ${server.url}`).toBe(404);
            expect(res.body).not.toMatch(/<form/i);
          }
        }
      }
    }),
  );

  it(
    'answers the health endpoint without a site Host, and 503 when the contract folders are missing',
    withLogs(async () => {
      for (const server of [world.green, world.apache]) {
        for (const host of ['10.1.2.3:80', 'localhost', world.a.canonicalHostname]) {
          const res = await http(server.url, '/aviary-health', { host, https: false });
          expect(res.status, `${host} on ${server.url}`).toBe(200);
          expect(res.body).toBe('ok');
          expect(res.headers['content-type']).toMatch(/^text\/plain/);
        }
      }
      const broken = await startPhpServer(world.docroot, { ...world.blue.env, AVIARY_SECRETS_DIR: join(scratch, 'not-mounted') });
      try {
        expect((await http(broken.url, '/aviary-health', { host: '10.1.2.3:80' })).status).toBe(503);
      } finally {
        await broken.stop();
      }
    }),
  );

  it(
    'answers 503 with Retry-After for a site in the host map whose secrets have not arrived',
    withLogs(async () => {
      const res = await http(world.replicas[0].url, '/', { host: world.c.canonicalHostname });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('30');
    }),
  );

  it(
    'accepts a login made on one replica on the other and on the other color, and only on its own site',
    withLogs(async () => {
      const site = world.a;
      const admin = await adminOf(site);
      const jar = new CookieJar();
      jar.cookies.set('wordpress_test_cookie', 'WP%20Cookie%20check');
      const login = await http(world.replicas[0].url, '/wp-login.php', {
        host: site.canonicalHostname,
        jar,
        form: { log: admin.username, pwd: admin.password, 'wp-submit': 'Log In', redirect_to: `${urlOf(site)}/wp-admin/`, testcookie: '1' },
      });
      expect(login.status, 'the login is accepted').toBe(302);
      expect(login.headers.location).toBe(`${urlOf(site)}/wp-admin/`);
      expect(jar.names().some((n) => n.startsWith('wordpress_logged_in_'))).toBe(true);

      for (const server of [world.replicas[1], world.green, world.apache]) {
        const dashboard = await http(server.url, '/wp-admin/', { host: site.canonicalHostname, jar });
        expect(dashboard.status, `the dashboard on ${server.url}`).toBe(200);
        expect(titleOf(dashboard.body)).toMatch(/^Dashboard/);
        expect(dashboard.body).toContain(site.name);
      }

      // Without the cookies it is the login page; and on another site too, even
      // under that site's cookie names (WordPress names them after a hash of the
      // site URL): they are signed with a's keys, not b's.
      const anonymous = await http(world.replicas[1].url, '/wp-admin/', { host: site.canonicalHostname });
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.location).toMatch(new RegExp(`^${escape(urlOf(site))}/wp-login\\.php`));
      const [hashA, hashB] = [site, world.b].map((s) => createHash('md5').update(urlOf(s)).digest('hex'));
      const forged = new CookieJar();
      for (const [name, value] of jar.cookies) forged.cookies.set(name.replace(hashA!, hashB!), value);
      expect(forged.names().some((n) => n === `wordpress_logged_in_${hashB}`)).toBe(true);
      const elsewhere = await http(world.replicas[1].url, '/wp-admin/', { host: world.b.canonicalHostname, jar: forged });
      expect(elsewhere.status).toBe(302);
      expect(elsewhere.headers.location).toMatch(new RegExp(`^${escape(urlOf(world.b))}/wp-login\\.php`));
    }),
  );
});
