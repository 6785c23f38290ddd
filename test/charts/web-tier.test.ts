// The web image contract as generated: the host map and site-secret shards,
// the ServiceAccount, and what every web pod mounts (docs/generated.md, "The web image contract").
import { describe, expect, it } from 'vitest';
import { renderFleet } from '../../src/charts/render.js';
import { InvalidInputError } from '../../src/sites/problems.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, exampleFleet, fullFleet, siteEntry } from '../support/fixtures.js';
import { asMap, changedPaths, distOf, ofKind, only, parseManifests, shardFile, shardSuffixOf, type K8sObject } from '../support/manifests.js';

const pad = (n: number, shards: number) => String(n).padStart(String(shards - 1).length, '0');

function objectsOf(fleet: Fleet): Map<string, K8sObject[]> {
  return new Map(renderFleet(fleet).map((f) => [f.path, parseManifests(f.content)]));
}

describe('the host map and the site secrets', () => {
  it('put every hostname and preview hostname of a site in its shard, naming its id, URL and S3 prefix', () => {
    const fleet = fullFleet();
    const files = objectsOf(fleet);
    const { shards } = fleet.canary.settings.web;
    for (const site of fleet.sites) {
      const shard = shardSuffixOf(site.id, shards);
      const [configMap, externalSecret] = files.get(`services/shard-${shard}.yaml`)!;
      expect(configMap.kind).toBe('ConfigMap');
      expect(configMap.metadata.name).toBe(`aviary-sites-${shard}`);
      const want = { id: site.id, url: `http://${site.canonicalHostname}`, s3Prefix: `sites/${site.id}/` };
      for (const host of site.hostnames) expect(JSON.parse(configMap.data[host])).toEqual(want);
      // The preview at its own URL, or WordPress would redirect it to the public hostname.
      const preview = `${site.id}.preview.example.dev`;
      expect(JSON.parse(configMap.data[preview])).toEqual({ ...want, url: `http://${preview}` });

      expect(externalSecret.kind).toBe('ExternalSecret');
      expect(externalSecret.metadata.name).toBe(`aviary-site-secrets-${shard}`);
      expect(externalSecret.spec.target).toEqual({ name: `aviary-site-secrets-${shard}`, creationPolicy: 'Owner' });
      expect(externalSecret.spec.secretStoreRef).toEqual({ kind: 'SecretStore', name: 'vault-aws' });
      // Whole secrets, no `property`: the files are the JSON the hook wrote.
      expect(externalSecret.spec.data).toEqual(
        expect.arrayContaining([
          { secretKey: `${site.id}.db`, remoteRef: { key: `prod/wordpress/${site.id}/db` } },
          { secretKey: `${site.id}.keys`, remoteRef: { key: `prod/wordpress/${site.id}/keys` } },
        ]),
      );
    }
  });

  it('writes a shard file only for shards that hold sites, each site in exactly one', () => {
    const fleet = buildFleet(Array.from({ length: 40 }, (_, i) => siteEntry(`site-${i}`)), canaryDoc({ web: { shards: 4 } }));
    const files = objectsOf(fleet);
    const shardFiles = [...files.keys()].filter((p) => p.startsWith('services/shard-'));
    expect(shardFiles.sort()).toEqual([...new Set(fleet.sites.map((s) => shardFile(s.id, 4)))].sort());
    const listed = shardFiles.flatMap((p) => files.get(p)![1].spec.data.map((d: { secretKey: string }) => d.secretKey));
    expect(listed.sort()).toEqual(fleet.sites.flatMap((s) => [`${s.id}.db`, `${s.id}.keys`]).sort());
  });

  it('a one-site change rewrites only that site file and its shard', () => {
    const sites = Array.from({ length: 30 }, (_, i) => siteEntry(`site-${i}`));
    const before = distOf(buildFleet(sites));
    const changed = sites.map((s) => (s.id === 'site-7' ? { ...s, hostnames: ['site-7.example.com', 'www.site-7.example.com'] } : s));
    expect(changedPaths(before, distOf(buildFleet(changed)))).toEqual(
      [shardFile('site-7'), 'sites/site-7/site-7.yaml'].sort(),
    );
    // The order of sites.yaml is no input: the shards list their sites by id.
    expect(changedPaths(before, distOf(buildFleet([...sites].reverse())))).toEqual([]);
  });

  it('refuses a fleet its shards cannot hold, naming web.shards and what to set', () => {
    const sites = Array.from({ length: 1300 }, (_, i) => siteEntry(`s${i}`));
    let error: unknown;
    try {
      buildFleet(sites, canaryDoc({ web: { shards: 2 } }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    const [problem] = (error as InvalidInputError).problems;
    expect(problem).toMatchObject({ file: 'canary.yaml', path: 'web.shards' });
    expect(problem!.message).toMatch(/web.shards 2 puts \d+ sites in one shard, more than 600/);
    expect(problem!.hint).toMatch(/set web.shards to 4 or more/);
    expect(() => buildFleet(sites, canaryDoc({ web: { shards: 4 } }))).not.toThrow();
  });
});

describe('the web pods', () => {
  const fleet = fullFleet();
  const files = objectsOf(fleet);

  it('run as the web ServiceAccount, annotated from canary.yaml, with no API token', () => {
    const account = only(files.get('services/web-account.yaml')!, 'ServiceAccount');
    expect(account).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'wp-web', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/wp-web' } } });
    expect(account.automountServiceAccountToken).toBe(false);
    for (const color of ['blue', 'green']) {
      const pod = ofKind(files.get(`services/${color}.yaml`)!, 'Deployment')[0]!.spec.template.spec;
      expect(pod.serviceAccountName).toBe('wp-web');
      expect(pod.automountServiceAccountToken).toBe(false);
    }
  });

  it.each(['blue', 'green'])('%s mounts every shard (optional), canary-env, and names the folders and its color', (color) => {
    const { shards } = fleet.canary.settings.web;
    const pod = ofKind(files.get(`services/${color}.yaml`)!, 'Deployment')[0]!.spec.template.spec;
    const volume = (name: string) => pod.volumes.find((v: { name: string }) => v.name === name);
    const all = Array.from({ length: shards }, (_, i) => pad(i, shards));
    expect(volume('aviary-sites').projected.sources).toEqual(all.map((n) => ({ configMap: { name: `aviary-sites-${n}`, optional: true } })));
    expect(volume('aviary-secrets').projected).toEqual({ defaultMode: 0o440, sources: all.map((n) => ({ secret: { name: `aviary-site-secrets-${n}`, optional: true } })) });
    expect(volume('aviary-canary').configMap).toEqual({ name: 'canary-env' });
    // Group-readable by www-data, the web server's workers.
    expect(pod.securityContext.fsGroup).toBe(33);
    const container = only(pod.containers, 'container') as K8sObject;
    expect(container.volumeMounts).toEqual([
      { name: 'aviary-sites', mountPath: '/etc/aviary/sites', readOnly: true },
      { name: 'aviary-secrets', mountPath: '/etc/aviary/secrets', readOnly: true },
      { name: 'aviary-canary', mountPath: '/etc/aviary/canary', readOnly: true },
    ]);
    expect(Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]))).toEqual({
      AVIARY_COLOR: color,
      AVIARY_SITES_DIR: '/etc/aviary/sites',
      AVIARY_SECRETS_DIR: '/etc/aviary/secrets',
      AVIARY_CANARY_FILE: '/etc/aviary/canary/canaryEnv',
    });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/aviary-health', port: 80, scheme: 'HTTP' });
  });

  it('the example fleet keeps the defaults: aviary-web, 32 shards', () => {
    const example = asMap(renderFleet(exampleFleet()));
    expect(parseManifests(example.get('services/web-account.yaml')!)[0]!.metadata).toMatchObject({ name: 'aviary-web' });
    expect(exampleFleet().canary.settings.web.shards).toBe(32);
  });
});
