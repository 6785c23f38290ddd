import { eachManifestFile } from '../charts/render.js';
import { loadFleet } from '../sites/load.js';
import type { Fleet } from '../sites/types.js';
import { writeDist } from './write-dist.js';

export interface InputPaths {
  /** @default 'sites.yaml' */
  readonly sites: string;
  /** @default 'canary.yaml' */
  readonly canary: string;
}

export interface SynthResult {
  readonly fleet: Fleet;
  readonly files: number;
}

/** Validates the inputs and replaces `out` with their manifests; invalid inputs write nothing. */
export function synth(inputs: InputPaths, out: string): SynthResult {
  const fleet = loadFleet(inputs.sites, inputs.canary);
  return { fleet, files: writeDist(out, eachManifestFile(fleet)) };
}
