import { ApiObject, App, type Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import type { Fleet, Site, Canary } from '../sites/types.js';
import { ArgoCdChart } from './argocd-chart.js';
import { ServicesChart } from './services-chart.js';
import { SiteChart } from './site-chart.js';
import { toYaml } from './to-yaml.js';

/** A synthesized file: its path under `dist/` and its bytes. */
export interface ManifestFile {
  readonly path: string;
  readonly content: string;
}

/**
 * The whole `dist/` of a fleet, as files in a stable order:
 *
 *   services/blue.yaml, services/green.yaml, services/canary-env.yaml
 *   sites/<id>/<id>.yaml
 *   argocd/services.yaml, argocd/sites.yaml
 *
 * Each site is built in an App of its own and turned into JSON object by
 * object: cdk8s's own `App.synth()` re-walks the whole app once per chart,
 * which is quadratic in the number of sites (see the README's benchmark).
 */
export function renderFleet(fleet: Fleet): ManifestFile[] {
  return [...eachManifestFile(fleet)];
}

/** The same files one at a time, so a writer can drop each before the next is built (less memory, less GC). */
export function* eachManifestFile(fleet: Fleet): Generator<ManifestFile> {
  yield* renderShared(fleet.canary);
  for (const site of fleet.sites) yield renderSite(site, fleet.canary);
}

export function renderSite(site: Site, canary: Canary): ManifestFile {
  const chart = new SiteChart(new App(), site, canary);
  return { path: `sites/${site.id}/${site.id}.yaml`, content: toYaml(manifestsOf(chart)) };
}

/** The files that do not belong to one site. */
export function renderShared(canary: Canary): ManifestFile[] {
  const app = new App();
  const services = new ServicesChart(app, 'services', canary);
  const argocd = new ArgoCdChart(app, 'argocd', canary);
  return [services, argocd].flatMap((chart) => perTopLevelConstruct(chart));
}

/** One file per direct child of the chart, named after the child's id. */
function perTopLevelConstruct(chart: Chart): ManifestFile[] {
  return chart.node.children.flatMap((child) => {
    const objects = manifestsOf(child);
    return objects.length ? [{ path: `${chart.node.id}/${child.node.id}.yaml`, content: toYaml(objects) }] : [];
  });
}

function manifestsOf(scope: IConstruct): unknown[] {
  return scope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson());
}
