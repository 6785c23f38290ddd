import { readFileSync } from 'node:fs';

/** Set by scripts/bundle-action.mjs in the Action's one-file build, which has no package.json beside it. */
declare const __AVIARY_VERSION__: string | undefined;

/** Aviary's version, from package.json (one level above both src/ and lib/). */
export const AVIARY_VERSION: string =
  typeof __AVIARY_VERSION__ === 'string' ? __AVIARY_VERSION__ : JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

/** Who renders (see RenderOptions.salt): everything that renders must pass it, so outputs are reused only from the same version. */
export const RENDER_SALT = `aviary ${AVIARY_VERSION}`;
