import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eachManifestFile } from '../charts/render.js';
import { RENDER_SALT } from './version.js';
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

export interface SynthOptions {
  /**
   * Reuse site files of the previous `out` whose recorded input hash still
   * matches, instead of rendering them again.
   * @default true
   */
  readonly reuse?: boolean;
}

/** Validates the inputs and replaces `out` with their manifests; invalid inputs write nothing. */
export function synth(inputs: InputPaths, out: string, options: SynthOptions = {}): SynthResult {
  const fleet = loadFleet(inputs.sites, inputs.canary);
  const previous = options.reuse === false ? undefined : (path: string) => readIfExists(join(out, path));
  return { fleet, files: writeDist(out, eachManifestFile(fleet, { previous, salt: RENDER_SALT })) };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
