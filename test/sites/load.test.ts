import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../src/sites/load.js';
import { InvalidInputError, type Problem } from '../../src/sites/problems.js';
import { Source } from '../../src/sites/source.js';

const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);

const SITES = `sites:
  - id: alpha
    name: Alpha
    theme: astra
    hostnames: [alpha.example.com]
    service: blue
`;

const CANARY = `repository: registry.example.com/wp-fleet
selector: green
services:
  blue: { imageTag: ${DIGEST_A}, replicas: 2 }
  green: { imageTag: ${DIGEST_B}, replicas: 1 }
`;

function problems(sites: string, canary: string = CANARY): Problem[] {
  try {
    parseFleet(new Source('sites.yaml', sites), new Source('canary.yaml', canary));
  } catch (error) {
    if (error instanceof InvalidInputError) return [...error.problems];
    throw error;
  }
  return [];
}

/** One malformed input: which file, where, and what the message says. */
interface Case {
  readonly name: string;
  readonly sites?: string;
  readonly canary?: string;
  readonly expected: ReadonlyArray<{ file?: string; line: number; column: number; path?: string; message: RegExp; hint?: RegExp }>;
}

const site = (body: string) => `sites:\n  - id: alpha\n${body}`;

const CASES: Case[] = [
  {
    name: 'YAML syntax error: unclosed flow sequence',
    sites: 'sites: [\n  - id: a\n',
    expected: [
      { line: 2, column: 3, message: /YAML syntax error: Block collections are not allowed within flow collections/, hint: /indentation/ },
      { line: 3, column: 1, message: /YAML syntax error: Flow sequence .* must .* end with a \]/ },
    ],
  },
  {
    name: 'YAML syntax error: unterminated quote',
    sites: 'sites:\n  - id: "alpha\n',
    expected: [{ line: 3, column: 1, message: /YAML syntax error: Missing closing "quote/ }],
  },
  {
    name: 'duplicate key',
    sites: site('    name: A\n    name: B\n    theme: astra\n    hostnames: [a.example.com]\n    service: blue\n'),
    expected: [{ line: 4, column: 5, message: /duplicate key/ }],
  },
  { name: 'empty sites file', sites: '', expected: [{ line: 1, column: 1, message: /file is empty/, hint: /sites:/ }] },
  { name: 'comment-only canary file', canary: '# nothing yet\n', expected: [{ file: 'canary.yaml', line: 1, column: 1, message: /file is empty/ }] },
  { name: 'sites is not a list', sites: 'sites: alpha\n', expected: [{ line: 1, column: 8, path: 'sites', message: /expected a list of sites/ }] },
  { name: 'top-level unknown key', sites: `${SITES}extra: 1\n`, expected: [{ line: 7, column: 1, path: 'extra', message: /unknown key "extra"/, hint: /sites/ }] },
  {
    name: 'unknown key in a site, with the allowed keys',
    sites: `${SITES}    colour: blue\n`,
    expected: [{ line: 7, column: 5, path: 'sites[0].colour', message: /unknown key "colour"/, hint: /canonicalHostname, service, ingress/ }],
  },
  {
    name: 'missing name',
    sites: site('    theme: astra\n    hostnames: [a.example.com]\n    service: blue\n'),
    expected: [{ line: 2, column: 5, path: 'sites[0].name', message: /missing required field "name"/ }],
  },
  {
    name: 'missing service',
    sites: site('    name: A\n    theme: astra\n    hostnames: [a.example.com]\n'),
    expected: [{ line: 2, column: 5, path: 'sites[0].service', message: /missing required field "service"/ }],
  },
  {
    name: 'missing hostnames',
    sites: site('    name: A\n    theme: astra\n    service: blue\n'),
    expected: [{ line: 2, column: 5, path: 'sites[0].hostnames', message: /missing required field "hostnames"/ }],
  },
  {
    name: 'id with uppercase and underscore',
    sites: SITES.replace('id: alpha', 'id: Alpha_1'),
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /"Alpha_1" is not a DNS-1123 label/, hint: /lowercase/ }],
  },
  {
    name: 'id ending with a dash',
    sites: SITES.replace('id: alpha', 'id: alpha-'),
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /not a DNS-1123 label/ }],
  },
  {
    name: 'id too long for the derived database user',
    sites: SITES.replace('id: alpha', `id: ${'a'.repeat(30)}`),
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /longer than 29 characters/, hint: /wp_<id>/ }],
  },
  {
    name: 'id is a number',
    sites: SITES.replace('id: alpha', 'id: 42'),
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /expected a site id/ }],
  },
  {
    name: 'duplicate id',
    sites: `${SITES}  - id: alpha\n    name: Other\n    theme: astra\n    hostnames: [other.example.com]\n    service: green\n`,
    expected: [{ line: 7, column: 9, path: 'sites[1].id', message: /duplicate id "alpha", already used by sites\[0\]/ }],
  },
  {
    name: 'hostname used by two sites',
    sites: `${SITES}  - id: beta\n    name: Beta\n    theme: astra\n    hostnames: [beta.example.com, alpha.example.com]\n    service: green\n`,
    expected: [{ line: 10, column: 35, path: 'sites[1].hostnames[1]', message: /"alpha.example.com" is already used by sites\[0\] \(alpha\)/ }],
  },
  {
    name: 'hostname listed twice in one site',
    sites: SITES.replace('[alpha.example.com]', '[alpha.example.com, alpha.example.com]'),
    expected: [{ line: 5, column: 36, path: 'sites[0].hostnames[1]', message: /already used by sites\[0\]/ }],
  },
  {
    name: 'hostname with a scheme',
    sites: SITES.replace('[alpha.example.com]', '[https://alpha.example.com]'),
    expected: [{ line: 5, column: 17, path: 'sites[0].hostnames[0]', message: /is not a valid hostname/, hint: /no scheme/ }],
  },
  {
    name: 'hostname in uppercase',
    sites: SITES.replace('[alpha.example.com]', '[Alpha.Example.com]'),
    expected: [{ line: 5, column: 17, message: /"Alpha.Example.com" is not a valid hostname/ }],
  },
  {
    name: 'hostname without a domain',
    sites: SITES.replace('[alpha.example.com]', '[localhost]'),
    expected: [{ line: 5, column: 17, message: /"localhost" is not a valid hostname/ }],
  },
  {
    name: 'empty hostnames',
    sites: SITES.replace('[alpha.example.com]', '[]'),
    expected: [{ line: 5, column: 16, path: 'sites[0].hostnames', message: /at least one hostname/ }],
  },
  {
    name: 'canonical hostname not among hostnames',
    sites: `${SITES}    canonicalHostname: www.alpha.example.com\n`,
    expected: [{ line: 7, column: 24, path: 'sites[0].canonicalHostname', message: /"www.alpha.example.com" is not one of the site's hostnames/, hint: /alpha.example.com/ }],
  },
  {
    name: 'unknown service color',
    sites: SITES.replace('service: blue', 'service: red'),
    expected: [{ line: 6, column: 14, path: 'sites[0].service', message: /"red" is not a color/, hint: /blue, green/ }],
  },
  {
    name: 'unknown ingress color',
    sites: `${SITES}    ingress: purple\n`,
    expected: [{ line: 7, column: 14, path: 'sites[0].ingress', message: /"purple" is not a color/ }],
  },
  {
    name: 'empty title',
    sites: SITES.replace('name: Alpha', 'name: ""'),
    expected: [{ line: 3, column: 11, path: 'sites[0].name', message: /must not be empty/ }],
  },
  {
    name: 'theme that is not a slug',
    sites: SITES.replace('theme: astra', 'theme: "Astra Pro"'),
    expected: [{ line: 4, column: 12, path: 'sites[0].theme', message: /"Astra Pro" is not a theme slug/ }],
  },
  {
    name: 'preview hostname colliding with another site',
    sites: `${SITES}  - id: beta\n    name: Beta\n    theme: astra\n    hostnames: [alpha.preview.example.com]\n    service: green\n`,
    canary: `${CANARY}previewDomain: preview.example.com\n`,
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /preview hostname "alpha.preview.example.com" .* already used by sites\[1\]/ }],
  },
  {
    name: 'mutable image tag',
    canary: CANARY.replace(DIGEST_A, 'latest'),
    expected: [{ file: 'canary.yaml', line: 4, column: 21, path: 'services.blue.imageTag', message: /"latest" is not a sha256 digest/, hint: /mutable tags/ }],
  },
  {
    name: 'digest with a sha256: prefix',
    canary: CANARY.replace(DIGEST_B, `sha256:${DIGEST_B}`),
    expected: [{ file: 'canary.yaml', line: 5, column: 22, path: 'services.green.imageTag', message: /not a sha256 digest/, hint: /no "sha256:" prefix/ }],
  },
  {
    name: 'digest in uppercase hex',
    canary: CANARY.replace(DIGEST_A, DIGEST_A.toUpperCase()),
    expected: [{ file: 'canary.yaml', line: 4, column: 21, message: /not a sha256 digest/ }],
  },
  {
    name: 'selector is not a defined color',
    canary: CANARY.replace('selector: green', 'selector: purple'),
    expected: [{ file: 'canary.yaml', line: 2, column: 11, path: 'selector', message: /"purple" is not a color/ }],
  },
  {
    name: 'a third color',
    canary: `${CANARY}  red: { imageTag: ${DIGEST_A} }\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 3, path: 'services.red', message: /unknown key "red"/, hint: /blue, green/ }],
  },
  {
    name: 'a missing color',
    canary: CANARY.replace(/ {2}green: .*\n/, ''),
    expected: [{ file: 'canary.yaml', line: 4, column: 3, path: 'services.green', message: /missing required field "green"/ }],
  },
  {
    name: 'repository carrying a tag',
    canary: CANARY.replace('wp-fleet', 'wp-fleet:6.5'),
    expected: [{ file: 'canary.yaml', line: 1, column: 13, path: 'repository', message: /is not an image repository/, hint: /without tag or digest/ }],
  },
  {
    name: 'negative replicas',
    canary: CANARY.replace('replicas: 2', 'replicas: -1'),
    expected: [{ file: 'canary.yaml', line: 4, column: 99, path: 'services.blue.replicas', message: /-1/ }],
  },
  {
    name: 'fractional replicas',
    canary: CANARY.replace('replicas: 1', 'replicas: 1.5'),
    expected: [{ file: 'canary.yaml', line: 5, column: 99, path: 'services.green.replicas', message: /whole number/ }],
  },
  {
    name: 'bad CPU quantity',
    canary: `${CANARY}resources:\n  job:\n    requests: { cpu: lots }\n`,
    expected: [{ file: 'canary.yaml', line: 8, column: 22, path: 'resources.job.requests.cpu', message: /"lots" is not a CPU quantity/ }],
  },
  {
    name: 'bad namespace',
    canary: `${CANARY}namespace: WP_Platform\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 12, path: 'namespace', message: /not a DNS-1123 label/ }],
  },
  {
    name: 'unknown fleet setting',
    canary: `${CANARY}argocd:\n  repoUrl: https://git.example.com/m.git\n`,
    expected: [{ file: 'canary.yaml', line: 7, column: 3, path: 'argocd.repoUrl', message: /unknown key "repoUrl"/, hint: /repoURL/ }],
  },
  {
    name: 'non-string annotation value',
    canary: `${CANARY}ingress:\n  annotations:\n    nginx.ingress.kubernetes.io/proxy-body-size: 64\n`,
    expected: [{ file: 'canary.yaml', line: 8, column: 50, message: /annotation values must be strings/, hint: /quote/ }],
  },
  {
    name: 'unknown External Secrets API version',
    canary: `${CANARY}secrets:\n  apiVersion: external-secrets.io/v2\n`,
    expected: [{ file: 'canary.yaml', line: 7, column: 15, path: 'secrets.apiVersion', message: /"external-secrets.io\/v2" is not an External Secrets API version/, hint: /v1beta1/ }],
  },
  {
    name: 'a URL scheme other than https or http',
    canary: `${CANARY}ingress:\n  scheme: ftp\n`,
    expected: [{ file: 'canary.yaml', line: 7, column: 11, path: 'ingress.scheme', message: /"ftp" is not a URL scheme/, hint: /load balancer/ }],
  },
  {
    name: 'secrets prefix with a trailing slash',
    canary: `${CANARY}secrets:\n  prefix: aviary/sites/\n`,
    expected: [{ file: 'canary.yaml', line: 7, column: 11, path: 'secrets.prefix', message: /not a Secrets Manager name prefix/ }],
  },
];

describe('validation of malformed inputs', () => {
  it.each(CASES)('$name', ({ sites, canary, expected }) => {
    const found = problems(sites ?? SITES, canary ?? CANARY);
    expect(found).toHaveLength(expected.length);
    expected.forEach((want, i) => {
      const got = found[i];
      expect(got.file).toBe(want.file ?? 'sites.yaml');
      // Column 99 marks cases where only the line is pinned (inline flow maps make the column noisy to count).
      expect(want.column === 99 ? [got.line] : [got.line, got.column]).toEqual(want.column === 99 ? [want.line] : [want.line, want.column]);
      if (want.path !== undefined) expect(got.path).toBe(want.path);
      expect(got.message).toMatch(want.message);
      if (want.hint) expect(got.hint).toMatch(want.hint);
    });
  });

  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it('reports every problem of both files at once, sites.yaml first, in file order', () => {
    const found = problems(
      `sites:\n  - id: Bad\n    name: A\n    theme: astra\n    hostnames: [a.example.com]\n    service: red\n`,
      CANARY.replace('selector: green', 'selector: nope').replace(DIGEST_A, 'latest'),
    );
    expect(found.map((p) => `${p.file}:${p.line}:${p.path}`)).toEqual([
      'sites.yaml:2:sites[0].id',
      'sites.yaml:6:sites[0].service',
      'canary.yaml:2:selector',
      'canary.yaml:4:services.blue.imageTag',
    ]);
  });

  it('still finds duplicates when another field of the same site is malformed', () => {
    const found = problems(`${SITES}  - id: alpha\n    name: 7\n    theme: astra\n    hostnames: [b.example.com]\n    service: blue\n`);
    expect(found.map((p) => p.path)).toEqual(['sites[1].id', 'sites[1].name']);
  });
});

describe('a valid fleet', () => {
  it('applies the defaults: canonical = first hostname, ingress = service, fleet settings', () => {
    const fleet = parseFleet(
      new Source('sites.yaml', SITES.replace('[alpha.example.com]', '[alpha.example.com, www.alpha.example.com]')),
      new Source('canary.yaml', CANARY),
    );
    expect(fleet.sites[0]).toMatchObject({ canonicalHostname: 'alpha.example.com', service: 'blue', ingress: 'blue' });
    expect(fleet.canary.settings).toMatchObject({
      namespace: 'wp-platform',
      ingress: { className: 'nginx', annotations: {} },
      secrets: { prefix: 'aviary/sites', store: { kind: 'ClusterSecretStore', name: 'aws-secrets-manager' } },
      argocd: { targetRevision: 'main', path: '.', namespace: 'argocd' },
    });
    expect(fleet.canary.settings.previewDomain).toBeUndefined();
  });

  it('accepts an empty fleet', () => {
    expect(parseFleet(new Source('sites.yaml', 'sites: []\n'), new Source('canary.yaml', CANARY)).sites).toEqual([]);
  });
});
