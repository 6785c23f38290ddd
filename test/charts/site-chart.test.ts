// The site chart, read back from the synthesized YAML: the Ingress, the
// ExternalSecret, the four WP-CLI Jobs, and when a Job's name (so whether it
// reruns under Argo CD) changes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { renderShared, renderSite } from '../../src/charts/render.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, digest, DIGEST_BLUE, DIGEST_GREEN, exampleFleet, fullFleet, LONGEST_ID, REPOSITORY, siteEntry } from '../support/fixtures.js';
import { ofKind, only, parseManifests, shardFile, siteObjects, type K8sObject } from '../support/manifests.js';

const JOBS = ['install', 'update-db', 'theme', 'flush'] as const;
type JobKind = (typeof JOBS)[number];

const PART_OF = { 'app.kubernetes.io/part-of': 'aviary', 'app.kubernetes.io/managed-by': 'aviary' };

function ingressOf(fleet: Fleet, id: string): K8sObject {
  return only(ofKind(siteObjects(fleet, id), 'Ingress').filter((i) => i.metadata.name === id), 'Ingress');
}

function externalSecretOf(fleet: Fleet, id: string): K8sObject {
  return only(ofKind(siteObjects(fleet, id), 'ExternalSecret'), 'ExternalSecret');
}

function jobsOf(fleet: Fleet, id: string): Record<JobKind, K8sObject> {
  const jobs = ofKind(siteObjects(fleet, id), 'Job');
  expect(jobs).toHaveLength(JOBS.length);
  return Object.fromEntries(JOBS.map((kind) => [kind, only(jobs.filter((j) => j.metadata.labels['aviary.io/job'] === kind), `${kind} Job`)])) as Record<JobKind, K8sObject>;
}

function previewOf(fleet: Fleet, id: string): K8sObject {
  return only(ofKind(siteObjects(fleet, id), 'Ingress').filter((i) => i.metadata.name === `${id}-preview`), 'preview Ingress');
}

function containerOf(job: K8sObject): K8sObject {
  return only(job.spec.template.spec.containers, 'container');
}

function jobNames(fleet: Fleet, id: string): Record<JobKind, string> {
  const jobs = jobsOf(fleet, id);
  return Object.fromEntries(JOBS.map((kind) => [kind, jobs[kind].metadata.name])) as Record<JobKind, string>;
}

/** Host → Service name and port name of its single `/` rule. */
function backends(ingress: K8sObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rule of ingress.spec.rules) {
    const path = only(rule.http.paths, 'path') as K8sObject;
    expect(path).toMatchObject({ path: '/', pathType: 'Prefix' });
    out[rule.host] = `${path.backend.service.name}:${path.backend.service.port.name}`;
  }
  return out;
}

describe('site chart: Ingress', () => {
  it('routes public hostnames to the ingress color and the preview hostname to the service color (example fleet)', () => {
    // harbor-cafe runs on green (service) while its public traffic stays on blue (ingress).
    const ingress = ingressOf(exampleFleet(), 'harbor-cafe');
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.metadata.name).toBe('harbor-cafe');
    expect(backends(ingress)).toEqual({
      'harborcafe.example.com': 'blue:http',
      'www.harborcafe.example.com': 'blue:http',
      'order.harborcafe.example.com': 'blue:http',
    });
    expect(ingress.spec.ingressClassName).toBe('nginx');
    const preview = previewOf(exampleFleet(), 'harbor-cafe');
    expect(preview.metadata.name).toBe('harbor-cafe-preview');
    expect(backends(preview)).toEqual({ 'harbor-cafe.preview.cloud2-stg.example.com': 'green:http' });
    expect(preview.spec.ingressClassName).toBe('nginx');
  });

  it('with tlsClusterIssuer: the public hosts in Secret <id>-tls issued by cert-manager; the preview host in the shared wildcard', () => {
    const ingress = ingressOf(exampleFleet(), 'north-trail');
    expect(ingress.spec.tls).toEqual([{ hosts: ['northtrail.example.org', 'www.northtrail.example.org'], secretName: 'north-trail-tls' }]);
    expect(ingress.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-wave': '5',
      'cert-manager.io/cluster-issuer': 'letsencrypt',
    });
    // Not watched by cert-manager: every preview Ingress shares the one wildcard Secret.
    const preview = previewOf(exampleFleet(), 'north-trail');
    expect(preview.spec.tls).toEqual([{ hosts: ['north-trail.preview.cloud2-stg.example.com'], secretName: 'aviary-preview-tls' }]);
    expect(preview.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '5' });
  });

  it('without tlsClusterIssuer or previewDomain: no TLS, no issuer annotation, no preview Ingress', () => {
    const fleet = buildFleet([siteEntry('plain', { hostnames: ['plain.example.com', 'www.plain.example.com'], service: 'green' })]);
    const ingress = ingressOf(fleet, 'plain');
    expect(ingress.spec).not.toHaveProperty('tls');
    // The last wave: routable only once installed.
    expect(ingress.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '5' });
    expect(backends(ingress)).toEqual({ 'plain.example.com': 'green:http', 'www.plain.example.com': 'green:http' });
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ofKind(siteObjects(fleet, 'plain'), 'Ingress')).toHaveLength(1);
  });

  it('takes the ingress class and extra annotations from the fleet settings', () => {
    const ingress = ingressOf(fullFleet(), 'shop');
    expect(ingress.spec.ingressClassName).toBe('haproxy');
    expect(ingress.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-body-size': '64m',
      'example.com/owner': 'web-team',
      'argocd.argoproj.io/sync-wave': '5',
      'cert-manager.io/cluster-issuer': 'letsencrypt-prod',
    });
    expect(backends(ingress)).toEqual({ 'shop.example.com': 'blue:http', 'www.shop.example.com': 'blue:http' });
    expect(ingress.spec.tls).toEqual([{ hosts: ['shop.example.com', 'www.shop.example.com'], secretName: 'shop-tls' }]);
    const preview = previewOf(fullFleet(), 'shop');
    expect(preview.spec.ingressClassName).toBe('haproxy');
    expect(preview.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-body-size': '64m',
      'example.com/owner': 'web-team',
      'argocd.argoproj.io/sync-wave': '5',
    });
    expect(backends(preview)).toEqual({ 'shop.preview.example.dev': 'green:http' });
  });

  it('a promoted site (service = ingress) sends every host, preview included, to one color', () => {
    expect(Object.values(backends(ingressOf(fullFleet(), 'promoted')))).toEqual(['green:http']);
    expect(Object.values(backends(previewOf(fullFleet(), 'promoted')))).toEqual(['green:http']);
  });
});

describe('site chart: ExternalSecret', () => {
  const ADMIN = [
    ['admin_user', 'username'],
    ['admin_email', 'email'],
    ['admin_password', 'password'],
  ];
  const expectedData = (prefix: string, id: string) => [
    ...ADMIN.map(([secretKey, property]) => ({ secretKey, remoteRef: { key: `${prefix}/${id}/admin`, property } })),
  ];

  it('reads only <prefix>/<id>/admin through the default store into Secret <id>-wordpress (the rest comes from the web contract)', () => {
    const es = externalSecretOf(exampleFleet(), 'rrr');
    expect(es.apiVersion).toBe('external-secrets.io/v1');
    expect(externalSecretOf(buildFleet([siteEntry('rrr')], canaryDoc({ secrets: { apiVersion: 'external-secrets.io/v1beta1' } })), 'rrr').apiVersion).toBe(
      'external-secrets.io/v1beta1',
    );
    expect(es.metadata.name).toBe('rrr-wordpress');
    expect(es.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '0' });
    expect(es.spec.secretStoreRef).toEqual({ kind: 'ClusterSecretStore', name: 'aws-secrets-manager' });
    expect(es.spec.refreshInterval).toBe('1h');
    expect(es.spec.data).toEqual(expectedData('aviary/sites', 'rrr'));
    expect(es.spec.target.name).toBe('rrr-wordpress');
    expect(es.spec.target.creationPolicy).toBe('Owner');
    expect(es.spec.target.template.data).toEqual({
      WP_ADMIN_USER: '{{ .admin_user }}',
      WP_ADMIN_EMAIL: '{{ .admin_email }}',
      WP_ADMIN_PASSWORD: '{{ .admin_password }}',
    });
  });

  it('every template reference names a key the data section fetches', () => {
    const es = externalSecretOf(exampleFleet(), 'rrr');
    const fetched = new Set(es.spec.data.map((d: K8sObject) => d.secretKey));
    const referenced = Object.values(es.spec.target.template.data as Record<string, string>).flatMap((t) =>
      [...t.matchAll(/\{\{ \.(\w+) \}\}/g)].map((m) => m[1]),
    );
    expect(new Set(referenced)).toEqual(fetched);
  });

  it('follows secrets.prefix, secrets.store and secrets.refreshInterval', () => {
    const es = externalSecretOf(fullFleet(), 'shop');
    expect(es.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'vault-aws' });
    expect(es.spec.refreshInterval).toBe('30m');
    expect(es.spec.data).toEqual(expectedData('prod/wordpress', 'shop'));
  });

  it('holds no secret value: only references', () => {
    const text = renderSite(exampleFleet().sites[0], exampleFleet().canary).content;
    expect(text).not.toMatch(/^kind: Secret$/m);
    expect(text).not.toMatch(/stringData|^\s+password: /m);
  });
});

describe('site chart: WP-CLI Jobs', () => {
  it('names each Job <id>-install|update-db|theme|flush-<10 hex>, orders them in sync waves 1 to 4, and records what it depends on', () => {
    const jobs = jobsOf(exampleFleet(), 'quill-press');
    JOBS.forEach((kind, i) => {
      expect(jobs[kind].apiVersion).toBe('batch/v1');
      expect(jobs[kind].metadata.name).toMatch(new RegExp(`^quill-press-${kind}-[0-9a-f]{10}$`));
      expect(Object.keys(jobs[kind].metadata.annotations).sort()).toEqual(['argocd.argoproj.io/sync-wave', 'aviary.io/depends-on']);
      expect(jobs[kind].metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(String(i + 1));
    });
    // Not routable before it is installed: both Ingresses come after the last Job.
    for (const ingress of ofKind(siteObjects(exampleFleet(), 'quill-press'), 'Ingress')) {
      expect(Number(ingress.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBeGreaterThan(JOBS.length);
    }
    const dependsOn = (kind: JobKind) => JSON.parse(jobs[kind].metadata.annotations['aviary.io/depends-on']);
    const site = exampleFleet().sites.find((s) => s.id === 'quill-press')!;
    expect(dependsOn('install')).toEqual({});
    expect(dependsOn('update-db')).toEqual({ image: containerOf(jobs['update-db']).image });
    expect(dependsOn('theme')).toEqual({ theme: site.theme, install: false });
    expect(dependsOn('flush')).toEqual({
      after: [jobs.install.metadata.name, jobs['update-db'].metadata.name, jobs.theme.metadata.name],
      service: site.service,
      ingress: site.ingress,
      url: `https://${site.canonicalHostname}`,
    });
    // The objects of the file are in that order as well.
    expect(ofKind(siteObjects(exampleFleet(), 'quill-press'), 'Job').map((j) => j.metadata.labels['aviary.io/job'])).toEqual([...JOBS]);
  });

  it("runs the image of the site's service color, by digest, not the ingress color's", () => {
    // harbor-cafe: service green, ingress blue.
    const fleet = exampleFleet();
    const green = fleet.canary.services.green.imageTag;
    for (const job of Object.values(jobsOf(fleet, 'harbor-cafe'))) {
      expect(containerOf(job).image).toBe(`${REPOSITORY}@sha256:${green}`);
      expect(containerOf(job).imagePullPolicy).toBe('IfNotPresent');
    }
    for (const job of Object.values(jobsOf(fleet, 'rrr'))) {
      expect(containerOf(job).image).toBe(`${REPOSITORY}@sha256:${fleet.canary.services.blue.imageTag}`);
    }
  });

  it('runs wp with the canonical URL, the title and the theme', () => {
    const jobs = jobsOf(exampleFleet(), 'harbor-cafe');
    for (const kind of ['install', 'update-db', 'theme'] as const) expect(containerOf(jobs[kind]).command).toEqual(['wp']);
    expect(containerOf(jobs.install).args).toEqual([
      'core',
      'install',
      '--url=https://www.harborcafe.example.com',
      '--title=Harbor Café',
      '--admin_user=$(WP_ADMIN_USER)',
      '--admin_password=$(WP_ADMIN_PASSWORD)',
      '--admin_email=$(WP_ADMIN_EMAIL)',
      '--skip-email',
    ]);
    // Themes ship in the image: activated, not fetched from wordpress.org.
    expect(containerOf(jobs.theme).args).toEqual(['theme', 'activate', 'twentytwentyfour', '--url=https://www.harborcafe.example.com']);
    const installing = buildFleet([siteEntry('shared', { theme: 'astra' })], canaryDoc({ jobs: { installThemes: true } }));
    expect(containerOf(jobsOf(installing, 'shared').theme).args).toEqual(['theme', 'install', 'astra', '--activate', '--url=https://shared.example.com']);
    expect(containerOf(jobs['update-db']).args).toEqual(['core', 'update-db', '--url=https://www.harborcafe.example.com']);
    // The object cache (if the image has one) and the transients WordPress keeps in the database without one.
    expect(containerOf(jobs.flush).command).toEqual(['sh']);
    expect(containerOf(jobs.flush).args).toEqual([
      '-c',
      'wp cache flush --url="$1" && wp transient delete --all --url="$1"',
      'flush',
      'https://www.harborcafe.example.com',
    ]);
  });

  it('the flush Job runs both wp commands, each with the URL as one argument, and stops at the first failure', () => {
    const flush = containerOf(jobsOf(exampleFleet(), 'harbor-cafe').flush);
    const bin = mkdtempSync(join(tmpdir(), 'aviary-wp-'));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    const log = join(bin, 'log');
    // A stand-in wp that records its arguments, one per line, and fails when asked to.
    writeFileSync(join(bin, 'wp'), `#!/bin/sh\nprintf '%s\\n' "$@" >> "${log}"\necho --- >> "${log}"\n[ "$1" != "$FAIL" ]\n`, { mode: 0o755 });
    const run = (fail: string) =>
      spawnSync(flush.command[0], flush.args.map((a: string) => kubernetesExpand(a, {})), { env: { PATH: `${bin}:/usr/bin:/bin`, FAIL: fail }, encoding: 'utf8' });
    expect(run('none').status).toBe(0);
    const url = '--url=https://www.harborcafe.example.com';
    expect(readFileSync(log, 'utf8')).toBe(['cache', 'flush', url, '---', 'transient', 'delete', '--all', url, '---', ''].join('\n'));
    writeFileSync(log, '');
    expect(run('cache').status).not.toBe(0);
    expect(readFileSync(log, 'utf8')).toBe(['cache', 'flush', url, '---', ''].join('\n'));
  });

  it('installs with ingress.scheme: http when the fleet serves plain HTTP', () => {
    const jobs = jobsOf(fullFleet(), 'shop');
    for (const job of [jobs.install, jobs['update-db'], jobs.theme]) expect(containerOf(job).args).toContain('--url=http://www.shop.example.com');
    expect(containerOf(jobs.flush).args.at(-1)).toBe('http://www.shop.example.com');
  });

  it('uses the first hostname as URL when canonicalHostname is left out', () => {
    const fleet = buildFleet([siteEntry('nocanon', { hostnames: ['b.example.com', 'a.example.com'] })]);
    expect(containerOf(jobsOf(fleet, 'nocanon')['update-db']).args).toEqual(['core', 'update-db', '--url=https://b.example.com']);
  });

  it("mounts only its own site's part of the web contract, and takes the admin from the site's secret", () => {
    const fleet = exampleFleet();
    const site = fleet.sites.find((x) => x.id === 'maple-dental')!;
    const shard = shardFile('maple-dental').slice('services/shard-'.length, -'.yaml'.length);
    for (const job of Object.values(jobsOf(fleet, 'maple-dental'))) {
      const pod = job.spec.template.spec;
      expect(containerOf(job).envFrom).toEqual([{ secretRef: { name: 'maple-dental-wordpress' } }]);
      expect(pod.volumes).toEqual([
        { name: 'aviary-sites', configMap: { name: `aviary-sites-${shard}`, items: [{ key: site.canonicalHostname, path: site.canonicalHostname }] } },
        {
          name: 'aviary-secrets',
          secret: { secretName: `aviary-site-secrets-${shard}`, defaultMode: 0o440, items: [{ key: 'maple-dental.db', path: 'maple-dental.db' }, { key: 'maple-dental.keys', path: 'maple-dental.keys' }] },
        },
      ]);
      expect(containerOf(job).volumeMounts).toEqual([
        { name: 'aviary-sites', mountPath: '/etc/aviary/sites', readOnly: true },
        { name: 'aviary-secrets', mountPath: '/etc/aviary/secrets', readOnly: true },
      ]);
      expect(containerOf(job).env).toEqual([
        { name: 'AVIARY_COLOR', value: site.service },
        { name: 'AVIARY_SITES_DIR', value: '/etc/aviary/sites' },
        { name: 'AVIARY_SECRETS_DIR', value: '/etc/aviary/secrets' },
      ]);
    }
  });

  it('runs as www-data (uid/gid 33), non-root, without privilege escalation, restartPolicy Never, no TTL', () => {
    for (const job of Object.values(jobsOf(exampleFleet(), 'studio-lumen'))) {
      const pod = job.spec.template.spec;
      // fsGroup: the contract's secret files are 0440, group www-data.
      expect(pod.securityContext).toEqual({ runAsUser: 33, runAsGroup: 33, runAsNonRoot: true, fsGroup: 33, seccompProfile: { type: 'RuntimeDefault' } });
      expect(containerOf(job).securityContext.allowPrivilegeEscalation).toBe(false);
      expect(containerOf(job).securityContext.capabilities).toEqual({ drop: ['ALL'] });
      expect(containerOf(job).securityContext).not.toHaveProperty('privileged', true);
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.automountServiceAccountToken).toBe(false);
      // A TTL would let the cluster delete a finished Job, which Argo CD would then recreate and rerun.
      expect(job.spec).not.toHaveProperty('ttlSecondsAfterFinished');
      expect(job.spec.backoffLimit).toBe(3);
    }
  });

  it('takes its resources from resources.job (defaults, then every setting)', () => {
    expect(containerOf(jobsOf(exampleFleet(), 'rrr').install).resources).toEqual({
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    });
    for (const job of Object.values(jobsOf(fullFleet(), 'shop'))) {
      expect(containerOf(job).resources).toEqual({
        requests: { cpu: '0.1', memory: '64Mi' },
        limits: { cpu: '1500m', memory: '512Mi' },
      });
    }
  });

  it('escapes $( in the title as $$( so Kubernetes does not expand it', () => {
    const fleet = buildFleet([siteEntry('dollar', { name: 'Costs $(HOME) now' })]);
    expect(containerOf(jobsOf(fleet, 'dollar').install).args[3]).toBe('--title=Costs $$(HOME) now');
  });

  // The container's environment holds the site's secret (envFrom), and Kubernetes
  // expands $(VAR) in args from it: a title must come through literally, and must
  // never pull a secret into the public site title.
  it.each(['Costs $(HOME) now', 'Save $$ today', 'Pay $$(WP_ADMIN_PASSWORD) here', 'Ends in $', 'Price: $5', '$(', '$$$(HOME)'])(
    'gives WP-CLI exactly the title %j once Kubernetes has expanded $(…) references',
    (title) => {
      const env = { WP_ADMIN_USER: 'admin', WP_ADMIN_PASSWORD: 's3cret', WP_ADMIN_EMAIL: 'a@example.com', HOME: '/root' };
      const fleet = buildFleet([siteEntry('titled', { name: title })]);
      const args: string[] = containerOf(jobsOf(fleet, 'titled').install).args;
      expect(args.map((a) => kubernetesExpand(a, env))).toEqual([
        'core',
        'install',
        '--url=https://titled.example.com',
        `--title=${title}`,
        '--admin_user=admin',
        '--admin_password=s3cret',
        '--admin_email=a@example.com',
        '--skip-email',
      ]);
    },
  );

  it('labels the pods with the site and the Job kind', () => {
    const jobs = jobsOf(exampleFleet(), 'rrr');
    for (const kind of JOBS) {
      const labels = { ...PART_OF, 'aviary.io/site': 'rrr', 'aviary.io/job': kind };
      expect(jobs[kind].metadata.labels).toEqual(labels);
      expect(jobs[kind].spec.template.metadata).toEqual({ labels });
    }
  });

  it('with jobs.queue, puts every Job under that Kueue LocalQueue by its label (not suspended: Kueue suspends on create)', () => {
    const fleet = buildFleet([siteEntry('queued')], canaryDoc({ jobs: { queue: 'aviary-jobs' } }));
    for (const job of Object.values(jobsOf(fleet, 'queued'))) {
      expect(job.metadata.labels['kueue.x-k8s.io/queue-name']).toBe('aviary-jobs');
      expect(job.metadata.annotations).not.toHaveProperty('kueue.x-k8s.io/queue-name');
      expect(job.spec).not.toHaveProperty('suspend');
      expect(job.spec.template.metadata.labels).not.toHaveProperty('kueue.x-k8s.io/queue-name');
    }
  });
});

describe('site chart: labels and namespace', () => {
  it('puts every object of a site in the fleet namespace with the site labels', () => {
    for (const [fleet, namespace] of [
      [exampleFleet(), 'wp-platform'],
      [fullFleet(), 'wp-prod'],
    ] as const) {
      for (const site of fleet.sites) {
        const objects = siteObjects(fleet, site.id);
        // Both fleets have a preview domain: the site's Ingress and its preview Ingress.
        expect(objects.map((o) => o.kind).sort()).toEqual(['ExternalSecret', 'Ingress', 'Ingress', 'Job', 'Job', 'Job', 'Job']);
        for (const o of objects) {
          expect(o.metadata.namespace).toBe(namespace);
          expect(o.metadata.labels).toMatchObject({ ...PART_OF, 'aviary.io/site': site.id });
          expect(Object.keys(o.metadata.labels).filter((k) => k.startsWith('cdk8s.io'))).toEqual([]);
        }
      }
    }
  });

  it('default namespace is wp-platform', () => {
    const fleet = buildFleet([siteEntry('ns')]);
    for (const o of siteObjects(fleet, 'ns')) expect(o.metadata.namespace).toBe('wp-platform');
  });

  it('keeps derived names within Kubernetes limits for the longest id', () => {
    const names = [...siteObjects(fullFleet(), LONGEST_ID)].map((o) => o.metadata.name as string);
    expect(LONGEST_ID).toHaveLength(29);
    // Job names become the pods' job-name label value: at most 63 characters.
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
  });
});

describe('site chart: Jobs rerun exactly when their inputs change', () => {
  // Two sites, preview domain and TLS on, so that unrelated settings are really present.
  const baseSites = () => [
    siteEntry('alpha', {
      name: 'Alpha Bakery',
      theme: 'astra',
      hostnames: ['alpha.example.com', 'www.alpha.example.com'],
      canonicalHostname: 'www.alpha.example.com',
      service: 'blue',
    }),
    siteEntry('beta', { theme: 'kadence', service: 'green' }),
  ];
  const baseCanary = () =>
    canaryDoc({ previewDomain: 'preview.example.com', ingress: { tlsClusterIssuer: 'letsencrypt' } }) as Record<string, any>;

  type Change = (sites: Record<string, any>[], canary: Record<string, any>) => void;
  const alpha = (sites: Record<string, any>[]) => sites[0];

  const base = buildFleet(baseSites(), baseCanary());
  const before = jobNames(base, 'alpha');
  const beforeFile = renderSite(base.sites[0], base.canary).content;

  function after(change: Change): { fleet: Fleet; names: Record<JobKind, string> } {
    const sites = baseSites();
    const canary = baseCanary();
    change(sites, canary);
    const fleet = buildFleet(sites, canary);
    return { fleet, names: jobNames(fleet, 'alpha') };
  }
  const changedJobs = (names: Record<JobKind, string>) => JOBS.filter((k) => names[k] !== before[k]);

  const cases: ReadonlyArray<[string, Change, JobKind[]]> = [
    // The database follows the code; caches are flushed after any Job before it reran.
    ["the image digest of the site's color", (_, c) => (c.services.blue.imageTag = digest('blue image 2')), ['update-db', 'flush']],
    ['the color (service), to one running another image', (s) => (alpha(s).service = 'green'), ['update-db', 'flush']],
    ['the ingress color only (promote after upgrade)', (s) => (alpha(s).ingress = 'green'), ['flush']],
    ['the theme', (s) => (alpha(s).theme = 'generatepress'), ['theme', 'flush']],
    ['installing themes instead of activating them', (_, c) => (c.jobs = { installThemes: true }), ['theme', 'flush']],
    // The URL comes from the web contract, not from the database: cached pages may still hold the old one.
    ['the canonical hostname', (s) => (alpha(s).canonicalHostname = 'alpha.example.com'), ['flush']],
    // Install once per site: an installed site is not installed again.
    ['the title', (s) => (alpha(s).name = 'Alpha Bakery & Café'), []],
    ['a hostname added', (s) => alpha(s).hostnames.push('shop.alpha.example.com'), []],
    ['a hostname other than the canonical one replaced', (s) => (alpha(s).hostnames[0] = 'alpha.example.org'), []],
    ['the Job resources', (_, c) => (c.resources = { job: { limits: { memory: '384Mi' } } }), []],
    ['the number of web shards', (_, c) => (c.web = { shards: 7 }), []],
    ['a Kueue queue', (_, c) => (c.jobs = { queue: 'aviary-jobs' }), []],
    // aviary site rerun: a failed Job cannot run again in place, a new name can.
    ['the rerun counter', (s) => (alpha(s).rerun = 1), ['install', 'update-db', 'theme', 'flush']],
    ["the install Job's rerun counter", (s) => (alpha(s).rerun = { install: 1 }), ['install', 'flush']],
    ["the update-db Job's rerun counter", (s) => (alpha(s).rerun = { 'update-db': 2 }), ['update-db', 'flush']],
    ["the theme Job's rerun counter", (s) => (alpha(s).rerun = { theme: 1 }), ['theme', 'flush']],
    ["the flush Job's rerun counter", (s) => (alpha(s).rerun = { flush: 3 }), ['flush']],
  ];

  it.each(cases)('%s changes exactly the Jobs that use it', (_, change, expected) => {
    const { names } = after(change);
    expect(changedJobs(names)).toEqual(expected);
    for (const kind of JOBS) expect(names[kind]).toMatch(new RegExp(`^alpha-${kind}-[0-9a-f]{10}$`));
  });

  // How much of the site's file stays the same: every byte, the objects (a
  // settings change may touch the file's header comment), or neither (the
  // Ingress or the ExternalSecret legitimately changes).
  type Kept = 'bytes' | 'objects' | 'names only';
  const unrelated: ReadonlyArray<[string, Change, Kept]> = [
    ['another site (theme, title, color, hostnames)', (s) => Object.assign(s[1], { theme: 'astra', name: 'B', service: 'blue', hostnames: ['b.example.org'] }), 'bytes'],
    ['another site added', (s) => s.push(siteEntry('gamma')), 'bytes'],
    ['another site removed', (s) => s.splice(1, 1), 'bytes'],
    ["the other color's image", (_, c) => (c.services.green.imageTag = digest('green image 2')), 'bytes'],
    ['replicas', (_, c) => ((c.services.blue.replicas = 5), (c.services.green.replicas = 0)), 'bytes'],
    ['the selector (active canary)', (_, c) => (c.selector = 'blue'), 'bytes'],
    ['the web resources', (_, c) => (c.resources = { web: { requests: { cpu: '1' } } }), 'bytes'],
    ['the Argo CD settings', (_, c) => (c.argocd = { repoURL: 'https://example.com/other.git', path: 'x' }), 'bytes'],
    ['the previewDomain', (_, c) => (c.previewDomain = 'staging.example.com'), 'names only'],
    ['the ingress class, annotations and issuer', (_, c) => (c.ingress = { className: 'traefik', annotations: { a: 'b' }, tlsClusterIssuer: 'other' }), 'names only'],
    ['the secrets refresh interval', (_, c) => (c.secrets = { refreshInterval: '5m' }), 'names only'],
  ];

  it.each(unrelated)('%s changes no Job name', (_, change, kept) => {
    const { fleet, names } = after(change);
    expect(names).toEqual(before);
    const file = renderSite(fleet.sites.find((s) => s.id === 'alpha')!, fleet.canary).content;
    const jobs = (text: string) => parseManifests(text).filter((o) => o.kind === 'Job');
    // The Jobs themselves are identical, not only their names.
    expect(jobs(file)).toEqual(jobs(beforeFile));
    if (kept === 'bytes') expect(file).toBe(beforeFile);
    else if (kept === 'objects') expect(parseManifests(file)).toEqual(parseManifests(beforeFile));
    else expect(parseManifests(file)).not.toEqual(parseManifests(beforeFile));
  });

  it('a move to the other color running the same image flushes caches only (the database already matches that code)', () => {
    const sameImage = (service: string) =>
      buildFleet(
        [siteEntry('alpha', { service })],
        canaryDoc({ services: { blue: { imageTag: DIGEST_BLUE, replicas: 1 }, green: { imageTag: DIGEST_BLUE, replicas: 1 } } }),
      );
    const onBlue = jobNames(sameImage('blue'), 'alpha');
    const onGreen = jobNames(sameImage('green'), 'alpha');
    expect(JOBS.filter((kind) => onGreen[kind] !== onBlue[kind])).toEqual(['flush']);
  });

  // Argo CD keeps a Job that keeps its name as it was created (its template is immutable in
  // Kubernetes): whatever else changed in it must lie where the Application tells Argo CD to
  // leave it, or the sync fails on an immutable field.
  const ignored: string[] = only(
    only(parseManifests(renderShared(base).find((f) => f.path === 'argocd/sites.yaml')!.content), 'ApplicationSet').spec.template.spec.ignoreDifferences,
    'ignore rule',
  ).jsonPointers;
  const withoutIgnored = (job: K8sObject) => {
    const copy = structuredClone(job);
    for (const pointer of ignored) removePointer(copy, pointer);
    return copy;
  };
  it.each(cases)('%s: a Job that keeps its name differs only where Argo CD leaves it as created', (_, change) => {
    const { fleet, names } = after(change);
    const now = jobsOf(fleet, 'alpha');
    const was = jobsOf(base, 'alpha');
    for (const kind of JOBS.filter((k) => names[k] === before[k])) expect(withoutIgnored(now[kind])).toEqual(withoutIgnored(was[kind]));
  });

  it('the ignore rule really covers what changes (image, URL, mounts)', () => {
    const { fleet } = after((s, c) => ((c.services.blue.imageTag = digest('blue image 2')), (c.web = { shards: 7 }), (alpha(s).canonicalHostname = 'alpha.example.com')));
    const install = jobsOf(fleet, 'alpha').install;
    expect(install.metadata.name).toBe(before.install);
    expect(install).not.toEqual(jobsOf(base, 'alpha').install);
    expect(ignored).toContain('/spec/template');
  });

  it('a revert gives back the same names (and bytes)', () => {
    const changed = after((s) => (alpha(s).theme = 'generatepress'));
    expect(changed.names.theme).not.toBe(before.theme);
    const reverted = after((s) => {
      alpha(s).theme = 'generatepress';
      alpha(s).theme = 'astra';
    });
    expect(reverted.names).toEqual(before);
    expect(renderSite(reverted.fleet.sites[0], reverted.fleet.canary).content).toBe(beforeFile);
  });

  it('sites with the same inputs but different ids get different Job names', () => {
    const fleet = buildFleet([siteEntry('one', { hostnames: ['x.example.com'] }), siteEntry('two', { hostnames: ['y.example.com'] })]);
    const one = jobNames(fleet, 'one');
    const two = jobNames(fleet, 'two');
    for (const kind of JOBS) expect(one[kind]).not.toBe(two[kind]);
  });

  it('the digests the fixtures use are the ones rendered', () => {
    // Guards the cases above: a change to canaryDoc must really reach the Jobs.
    expect(containerOf(jobsOf(base, 'alpha').install).image).toBe(`${REPOSITORY}@sha256:${DIGEST_BLUE}`);
    expect(containerOf(jobsOf(base, 'beta').install).image).toBe(`${REPOSITORY}@sha256:${DIGEST_GREEN}`);
  });
});

/**
 * Kubernetes' expansion of `$(VAR)` in a container's command and args
 * (k8s.io/kubernetes third_party/forked/golang/expansion), for ASCII input:
 * `$$` is a literal `$`; `$(NAME)` becomes the variable's value when it is
 * defined and stays as written when not; any other `$` is kept.
 */
function removePointer(object: K8sObject, pointer: string): void {
  const keys = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  const parent = keys.slice(0, -1).reduce<K8sObject | undefined>((o, k) => o?.[k], object);
  if (parent) delete parent[keys[keys.length - 1]];
}

function kubernetesExpand(input: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    const close = next === '(' ? input.indexOf(')', i + 2) : -1;
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (close >= 0) {
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
      i = close;
    } else {
      out += `$${next}`;
      i += 1;
    }
  }
  return out;
}
