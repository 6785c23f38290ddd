// How public and preview hostnames reach the colors: an Ingress (with
// ingress-nginx's canary Ingress for a weighted split) or an HTTPRoute on the
// platform's Gateway; and the inputs that cannot be routed as written.
import { describe, expect, it } from 'vitest';
import { diffFiles } from '../../src/pipeline/git/sync.js';
import { planOf } from '../../src/pipeline/publish/plan.js';
import { renderFleet } from '../../src/charts/render.js';
import { buildFleet, canaryDoc, siteEntry } from '../support/fixtures.js';
import { distOf, ofKind, only, parseManifests, siteObjects, type K8sObject } from '../support/manifests.js';

const GATEWAY = { kind: 'gateway', gateway: { name: 'shared', namespace: 'infra', sectionName: 'https' } };
const backendOf = (rule: K8sObject) => rule.http.paths[0].backend.service.name;

describe('a weighted canary on ingress-nginx', () => {
  const fleet = buildFleet(
    [siteEntry('alpha', { hostnames: ['alpha.example.com', 'www.alpha.example.com'], ingress: { blue: 90, green: 10 } }), siteEntry('bravo'), siteEntry('charlie', { ingress: { blue: 0, green: 100 } })],
    canaryDoc({ previewDomain: 'preview.example.dev', ingress: { tlsClusterIssuer: 'letsencrypt', annotations: { 'example.com/team': 'web' } } }),
  );

  it('is the main Ingress to the heavier color and a canary Ingress for the same hosts and paths to the other, with its share', () => {
    const ingresses = ofKind(siteObjects(fleet, 'alpha'), 'Ingress');
    const main = only(ingresses.filter((o) => o.metadata.name === 'alpha'), 'main Ingress');
    const canary = only(ingresses.filter((o) => o.metadata.name === 'alpha.canary'), 'canary Ingress');
    expect(main.spec.rules.map(backendOf)).toEqual(['blue', 'blue']);
    expect(canary.spec.rules.map(backendOf)).toEqual(['green', 'green']);
    expect(canary.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-wave': '5',
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '10',
      // `X-Aviary-Canary: always` (or `never`) pins one request to the canary (or not), whatever the weight: verification's way in.
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Aviary-Canary',
    });
    // ingress-nginx merges a canary only into a main Ingress with the same host, path and pathType.
    const shape = (o: K8sObject) => o.spec.rules.map((r: K8sObject) => [r.host, r.http.paths[0].path, r.http.paths[0].pathType]);
    expect(shape(canary)).toEqual(shape(main));
    expect(canary.spec.ingressClassName).toBe(main.spec.ingressClassName);
    // TLS and the fleet's annotations are the main Ingress's; ingress-nginx ignores them on a canary.
    expect(main.spec.tls).toEqual([{ hosts: ['alpha.example.com', 'www.alpha.example.com'], secretName: 'alpha-tls' }]);
    expect(canary.spec.tls).toBeUndefined();
    // The preview hostname stays on the site's own color.
    expect(only(ingresses.filter((o) => o.metadata.name === 'alpha-preview'), 'preview').spec.rules.map(backendOf)).toEqual(['blue']);
  });

  it('a site on one color has no canary Ingress; a split of 100 and 0 is that one color', () => {
    expect(ofKind(siteObjects(fleet, 'bravo'), 'Ingress').map((o) => o.metadata.name)).toEqual(['bravo', 'bravo-preview']);
    const charlie = ofKind(siteObjects(fleet, 'charlie'), 'Ingress');
    expect(charlie.map((o) => o.metadata.name)).toEqual(['charlie', 'charlie-preview']);
    expect(charlie[0]!.spec.rules.map(backendOf)).toEqual(['green']);
    expect(fleet.sites.find((s) => s.id === 'charlie')).toMatchObject({ ingress: 'green' });
    expect(fleet.sites.find((s) => s.id === 'charlie')).not.toHaveProperty('weights');
  });

  it('a plan shows a split as the traffic move', () => {
    const before = buildFleet([siteEntry('alpha')], canaryDoc());
    const after = buildFleet([siteEntry('alpha', { ingress: { blue: 80, green: 20 } })], canaryDoc());
    const plan = planOf(diffFiles(renderFleet(before), renderFleet(after)));
    expect(plan.sites[0]).toMatchObject({ id: 'alpha', traffic: { from: 'blue', to: 'blue 80%, green 20%' } });
    expect(plan.sites[0]!.objects).toContainEqual({ kind: 'Ingress', name: 'alpha.canary', change: 'added' });
  });
});

describe('routing through a Gateway', () => {
  const fleet = buildFleet(
    [siteEntry('alpha', { hostnames: ['alpha.example.com', 'www.alpha.example.com'], ingress: { blue: 25, green: 75 } }), siteEntry('bravo', { service: 'green' })],
    canaryDoc({ previewDomain: 'preview.example.dev', routing: GATEWAY }),
  );

  it('is an HTTPRoute per site on routing.gateway, weights as backend weights, and one per preview hostname', () => {
    const routes = ofKind(siteObjects(fleet, 'alpha'), 'HTTPRoute');
    expect(routes.map((o) => o.metadata.name)).toEqual(['alpha', 'alpha-preview']);
    const [main, preview] = routes as [K8sObject, K8sObject];
    expect(main.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(main.spec).toEqual({
      parentRefs: [{ name: 'shared', namespace: 'infra', sectionName: 'https' }],
      hostnames: ['alpha.example.com', 'www.alpha.example.com'],
      rules: [
        // The same pins as ingress-nginx's canary-by-header; a rule with a header match outranks the plain one.
        { matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Aviary-Canary', value: 'always' }] }], backendRefs: [{ name: 'blue', port: 80 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Aviary-Canary', value: 'never' }] }], backendRefs: [{ name: 'green', port: 80 }] },
        { backendRefs: [{ name: 'blue', port: 80, weight: 25 }, { name: 'green', port: 80, weight: 75 }] },
      ],
    });
    expect(preview.spec.hostnames).toEqual(['alpha.preview.example.dev']);
    expect(preview.spec.rules).toEqual([{ backendRefs: [{ name: 'blue', port: 80 }] }]);
    expect(ofKind(siteObjects(fleet, 'bravo'), 'HTTPRoute')[0]!.spec.rules).toEqual([{ backendRefs: [{ name: 'green', port: 80 }] }]);
  });

  it('emits no Ingress and no certificate (TLS is the Gateway\'s), and the project allows HTTPRoute instead of Ingress', () => {
    const objects = [...distOf(fleet).entries()].flatMap(([path, content]) => parseManifests(content).map((o) => ({ path, o })));
    expect(objects.filter(({ o }) => o.kind === 'Ingress' || o.kind === 'Certificate')).toEqual([]);
    const project = only(objects.filter(({ o }) => o.kind === 'AppProject'), 'AppProject').o;
    const allowed = project.spec.namespaceResourceWhitelist.map((k: K8sObject) => `${k.group}/${k.kind}`);
    expect(allowed).toContain('gateway.networking.k8s.io/HTTPRoute');
    expect(allowed).not.toContain('networking.k8s.io/Ingress');
    const emitted = new Set(objects.filter(({ path }) => !path.startsWith('argocd/')).map(({ o }) => `${String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : ''}/${o.kind}`));
    for (const kind of emitted) expect(allowed).toContain(kind);
  });
});

describe('inputs that cannot be routed as written are refused at their line', () => {
  const refused = (sites: Record<string, unknown>[], canary: Record<string, unknown> = canaryDoc()) => () => buildFleet(sites, canary);

  it('weights that are not two whole percentages adding up to 100', () => {
    expect(refused([siteEntry('a', { ingress: { blue: 90, green: 20 } })])).toThrow(/sites\.yaml:\d+:\d+: sites\[0\]\.ingress: the weights do not add up to 100/);
    expect(refused([siteEntry('a', { ingress: { blue: 90.5, green: 9.5 } })])).toThrow(/sites\[0\]\.ingress: is neither a color nor the two colors' weights/);
    expect(refused([siteEntry('a', { ingress: { blue: 110, green: -10 } })])).toThrow(/sites\[0\]\.ingress/);
    expect(refused([siteEntry('a', { ingress: { blue: 90, red: 10 } })])).toThrow(/sites\[0\]\.ingress/);
    expect(refused([siteEntry('a', { ingress: 'purple' })])).toThrow(/"purple" is neither a color/);
  });

  it('a split through an ingress class known not to read ingress-nginx canary annotations', () => {
    expect(refused([siteEntry('a', { ingress: { blue: 50, green: 50 } })], canaryDoc({ ingress: { className: 'traefik' } }))).toThrow(
      /sites\[0\]\.ingress: splits traffic between the colors, but ingress class "traefik" does not route by ingress-nginx's canary annotations[\s\S]*routing\.kind: gateway/,
    );
    // One color through that class is fine, as is a split through a Gateway.
    expect(() => buildFleet([siteEntry('a', { ingress: 'green' })], canaryDoc({ ingress: { className: 'traefik' } }))).not.toThrow();
    expect(() => buildFleet([siteEntry('a', { ingress: { blue: 50, green: 50 } })], canaryDoc({ routing: GATEWAY }))).not.toThrow();
  });

  it("a site whose id is another site's preview Ingress name, when the fleet has previews", () => {
    expect(refused([siteEntry('shop'), siteEntry('shop-preview')], canaryDoc({ previewDomain: 'preview.example.dev' }))).toThrow(
      /sites\[1\]\.id: "shop-preview" is the name of site "shop"'s preview Ingress/,
    );
    expect(() => buildFleet([siteEntry('shop'), siteEntry('shop-preview')], canaryDoc())).not.toThrow();
  });

  it('a Gateway routing without a Gateway, with TLS settings of its own, or a site of more hostnames than an HTTPRoute holds', () => {
    expect(refused([siteEntry('a')], canaryDoc({ routing: { kind: 'gateway' } }))).toThrow(/canary\.yaml:\d+:\d+: routing: names no Gateway/);
    expect(refused([siteEntry('a')], canaryDoc({ routing: GATEWAY, ingress: { tlsClusterIssuer: 'letsencrypt' } }))).toThrow(
      /ingress\.tlsClusterIssuer: "letsencrypt" is set, but with routing\.kind gateway TLS is the Gateway's/,
    );
    const hosts = Array.from({ length: 17 }, (_, i) => `h${i}.example.com`);
    expect(refused([siteEntry('a', { hostnames: hosts })], canaryDoc({ routing: GATEWAY }))).toThrow(/sites\[0\]\.hostnames: lists 17 hostnames; an HTTPRoute holds at most 16/);
    expect(refused([siteEntry('a')], canaryDoc({ routing: { kind: 'istio' } }))).toThrow(/routing\.kind: "istio" is not a routing kind/);
  });
});
