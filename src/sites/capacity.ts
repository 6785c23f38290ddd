import type { SiteMove } from './edit.js';
import type { Canary, Color, Fleet } from './types.js';

/** What a color can serve at most: its autoscaler's maximum, or its fixed replicas. */
export function capacityOf(canary: Canary, color: Color): number {
  const service = canary.services[color];
  return service.autoscale?.maxReplicas ?? service.replicas;
}

/**
 * Why a bulk move of traffic is unsafe, or undefined when it is not: moving
 * more than half of the fleet's sites onto a color that can run fewer pods
 * than the color they leave would put most of the traffic on the smaller
 * side (a promote of every site onto a 1-replica canary).
 */
export function overloadOf(fleet: Fleet, moves: readonly SiteMove[]): string | undefined {
  const onto = new Map<Color, SiteMove[]>();
  for (const m of moves) if (m.from.ingress !== m.to.ingress) onto.set(m.to.ingress, [...(onto.get(m.to.ingress) ?? []), m]);
  for (const [to, moving] of onto) {
    if (moving.length * 2 <= fleet.sites.length) continue;
    const from = moving[0]!.from.ingress;
    const [have, had] = [capacityOf(fleet.canary, to), capacityOf(fleet.canary, from)];
    if (have >= had) continue;
    return (
      `this moves the traffic of ${moving.length} of ${fleet.sites.length} sites onto ${to}, which can run ${have} pod(s), from ${from}, which can run ${had}. ` +
      `Raise services.${to}.replicas (or its autoscale.maxReplicas) in canary.yaml first, or pass --force. Nothing was written.`
    );
  }
  return undefined;
}

/** Above this many sites, one Application per site strains Argo CD (see layoutWarnings). */
export const PER_SITE_APPLICATIONS_LIMIT = 1000;

/**
 * What a valid fleet should change before it grows further: one Application
 * per site puts thousands of Applications on one controller replica and in
 * one ApplicationSet's status (the application controller shards by
 * cluster, not by Application).
 */
export function layoutWarnings(fleet: Fleet): string[] {
  const { sites } = fleet;
  if (fleet.canary.settings.argocd.shards || sites.length <= PER_SITE_APPLICATIONS_LIMIT) return [];
  const shards = 2 ** Math.ceil(Math.log2(sites.length / 150));
  return [
    `${sites.length} sites make ${sites.length} Argo CD Applications, one per site: more than ${PER_SITE_APPLICATIONS_LIMIT} strains Argo CD's controller and the ApplicationSet's status. ` +
      `Set argocd.shards: ${shards} in canary.yaml to group them (${Math.ceil(sites.length / shards)} sites per Application; the sites move to the new Applications once, see "Argo CD at fleet scale" in Aviary's docs/generated.md).`,
  ];
}
