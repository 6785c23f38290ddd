import { join } from 'node:path';
import { eachManifestFile, type ManifestFile } from '../../charts/render.js';
import { RENDER_SALT } from '../shared/version.js';
import { loadFleet } from '../../sites/load.js';
import type { Fleet } from '../../sites/types.js';
import { writeDist } from './write-dist.js';
import { readIfExists } from '../shared/files.js';

export interface InputPaths {
  /** @default 'sites.yaml' */
  readonly sites: string;
  /** @default 'canary.yaml' */
  readonly canary: string;
}

export interface SynthResult {
  readonly fleet: Fleet;
  readonly files: number;
  /** The files written, when `keepFiles` asked for them. */
  readonly rendered?: readonly ManifestFile[];
}

export interface SynthOptions {
  /**
   * Reuse site files of the previous `out` whose recorded input hash still
   * matches, instead of rendering them again.
   * @default true
   */
  readonly reuse?: boolean;
  /**
   * Another output to reuse site files from where `out` has none: the kept
   * clone of the manifests repo, in CI where `dist/` starts empty.
   * @default none
   */
  readonly alsoReuse?: (path: string) => string | undefined;
  /** Also return the files written, so a caller does not read them back. @default false */
  readonly keepFiles?: boolean;
}

/** Validates the inputs and replaces `out` with their manifests; invalid inputs write nothing. */
export function synth(inputs: InputPaths, out: string, options: SynthOptions = {}): SynthResult {
  return synthFleet(loadFleet(inputs.sites, inputs.canary), out, options);
}

/** Replaces `out` with the manifests of a fleet already loaded (and so validated). */
export function synthFleet(fleet: Fleet, out: string, options: SynthOptions = {}): SynthResult {
  const current = lastReadMemo((path) => readIfExists(join(out, path)));
  const also = options.alsoReuse;
  const previous = options.reuse === false ? undefined : also ? (path: string) => current(path) ?? also(path) : current;
  const files = eachManifestFile(fleet, { previous, salt: RENDER_SALT });
  if (!options.keepFiles) return { fleet, files: writeDist(out, files, { current }) };
  const rendered: ManifestFile[] = [];
  const count = writeDist(out, keeping(files, rendered), { current });
  return { fleet, files: count, rendered };
}

function* keeping(files: Iterable<ManifestFile>, into: ManifestFile[]): Generator<ManifestFile> {
  for (const file of files) {
    into.push(file);
    yield file;
  }
}

/**
 * Each site file is read by the renderer (to reuse it) and right after by the
 * writer (to skip it when unchanged): remembering the last read serves both
 * with one read, without holding the whole tree in memory.
 */
function lastReadMemo(read: (path: string) => string | undefined): (path: string) => string | undefined {
  let last: { path: string; content: string | undefined } | undefined;
  return (path) => {
    if (last?.path !== path) last = { path, content: read(path) };
    return last.content;
  };
}
