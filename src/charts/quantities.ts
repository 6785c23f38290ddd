import { k8s } from 'cdk8s-plus-27';
import type { Resources } from '../sites/types.js';

/**
 * `canary.yaml` resources as the generated Kubernetes classes want them.
 * Their `toJson` reads each quantity's `.value`, and it does so after JSON
 * patches are applied, so even a patched-in `resources` must hold Quantity objects.
 */
export function resourceRequirements(resources: Resources): k8s.ResourceRequirements {
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}

function quantities(values: Readonly<Record<string, string | undefined>>): Record<string, k8s.Quantity> {
  const out: Record<string, k8s.Quantity> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = k8s.Quantity.fromString(value);
  return out;
}
