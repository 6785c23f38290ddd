import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFleet, MAX_PROBLEMS, parseFleet, readSource } from '../../src/sites/load.js';
import { InvalidInputError, type Problem } from '../../src/sites/problems.js';
import { MAX_HOSTNAMES, MAX_TITLE_LENGTH } from '../../src/sites/schema.js';
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
    expected: [{ line: 4, column: 5, message: /^duplicate key "name" \(first on line 3\)$/, hint: /merge/ }],
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
    expected: [{ line: 7, column: 14, path: 'sites[0].ingress', message: /"purple" is neither a color nor the two colors. weights/ }],
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

function expectProblems({ sites, canary, expected }: Case): void {
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
}

describe('validation of malformed inputs', () => {
  it.each(CASES)('$name', expectProblems);

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

/** Nine levels of nine aliases (9^9 values once expanded), ending in `last: *i`. */
function billionLaughs(last: string): string {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  return `${lines.join('\n')}\n${last}: *i\n`;
}

/** A valid preview domain of exactly 240 characters: with it, an id may have at most 253 - 240 - 1 = 12. */
const DOMAIN_240 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(44)}.com`;

const annotations = (lines: string) => `${CANARY}ingress:\n  annotations:\n${lines}`;
const argocd = (lines: string) => `${CANARY}argocd:\n${lines}`;

/** Hostile and broken input (issue 9): each is a located problem, never a crash, never accepted. */
const HOSTILE: Case[] = [
  {
    name: 'undefined alias in sites.yaml',
    sites: SITES.replace('name: Alpha', 'name: *nope'),
    expected: [{ line: 3, column: 11, message: /^undefined alias \*nope$/, hint: /&nope/ }],
  },
  {
    name: 'undefined alias in canary.yaml',
    canary: `${CANARY}namespace: *nope\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 12, message: /^undefined alias \*nope$/ }],
  },
  {
    name: 'alias bomb in sites.yaml',
    sites: billionLaughs('sites'),
    expected: [{ line: 10, column: 8, message: /^aliases expand this file by more than 100,000 values \(this one alone to 435,848,050\)$/, hint: /alias bomb/ }],
  },
  {
    name: 'alias bomb in canary.yaml',
    canary: CANARY + billionLaughs('namespace'),
    expected: [{ file: 'canary.yaml', line: 15, column: 12, message: /^aliases expand this file by more than 100,000 values/ }],
  },
  {
    name: 'unknown local tag',
    sites: SITES.replace('theme: astra', 'theme: !mytag astra'),
    expected: [{ line: 4, column: 19, message: /^unknown YAML tag !mytag$/, hint: /remove the tag/ }],
  },
  {
    name: '!!js/function',
    canary: `${CANARY}namespace: !!js/function "function () {}"\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 26, message: /^unknown YAML tag !!js\/function$/ }],
  },
  {
    name: '!!binary where a string is expected',
    sites: SITES.replace('name: Alpha', 'name: !!binary QWxwaGE='),
    expected: [{ line: 3, column: 20, message: /^unknown YAML tag !!binary$/ }],
  },
  {
    name: 'lone UTF-16 surrogate in a title',
    sites: SITES.replace('name: Alpha', 'name: "Al\\ud800pha"'),
    expected: [{ line: 3, column: 11, message: /^"Al\\ud800pha" is not valid Unicode/, hint: /surrogate|escape/ }],
  },
  {
    name: 'lone UTF-16 surrogate in an annotation value',
    canary: annotations('    example.com/owner: "\\udc00"\n'),
    expected: [{ file: 'canary.yaml', line: 8, column: 24, message: /is not valid Unicode/ }],
  },
  {
    name: 'a hostname repeated within one site is one problem, with the count',
    sites: SITES.replace('[alpha.example.com]', '[alpha.example.com, alpha.example.com, alpha.example.com]'),
    expected: [{ line: 5, column: 36, path: 'sites[0].hostnames[1]', message: /"alpha.example.com" is already used by sites\[0\] \(alpha\) \(2 times here\)/ }],
  },
  {
    name: `more than ${MAX_HOSTNAMES} hostnames`,
    sites: SITES.replace('[alpha.example.com]', `[${Array.from({ length: MAX_HOSTNAMES + 1 }, (_, i) => `h${i}.example.com`).join(', ')}]`),
    expected: [{ line: 5, column: 16, path: 'sites[0].hostnames', message: /lists more than 99 hostnames/, hint: /certificate/ }],
  },
  {
    name: 'a title too long for the registry item and the Job arguments',
    sites: SITES.replace('name: Alpha', `name: ${'x'.repeat(MAX_TITLE_LENGTH + 1)}`),
    expected: [{ line: 3, column: 11, path: 'sites[0].name', message: /^"x{80}…" is longer than 255 characters$/ }],
  },
  {
    name: 'a theme slug too long',
    sites: SITES.replace('theme: astra', `theme: ${'t'.repeat(101)}`),
    expected: [{ line: 4, column: 12, path: 'sites[0].theme', message: /is longer than 100 characters/ }],
  },
  {
    name: 'a line break in the title',
    sites: SITES.replace('name: Alpha', 'name: "Alpha\\nkind: Secret"'),
    expected: [{ line: 3, column: 11, path: 'sites[0].name', message: /holds a line break or another control character/, hint: /one line/ }],
  },
  {
    name: 'an IPv4 address as a hostname',
    sites: SITES.replace('[alpha.example.com]', '[10.0.0.1]'),
    expected: [{ line: 5, column: 17, path: 'sites[0].hostnames[0]', message: /^"10.0.0.1" is an IP address, not a DNS name$/, hint: /Ingress routes by name/ }],
  },
  {
    name: 'an IPv6 address as a hostname',
    sites: SITES.replace('[alpha.example.com]', '["::1"]'),
    expected: [{ line: 5, column: 17, path: 'sites[0].hostnames[0]', message: /^"::1" is not a valid hostname$/ }],
  },
  {
    name: 'a hostname ending in an all-numeric label',
    sites: SITES.replace('[alpha.example.com]', '[alpha.example.123]'),
    expected: [{ line: 5, column: 17, message: /ends in an all-numeric label/ }],
  },
  {
    name: 'an IP address as the canonical hostname',
    sites: `${SITES}    canonicalHostname: 10.0.0.1\n`,
    expected: [
      { line: 7, column: 24, path: 'sites[0].canonicalHostname', message: /is an IP address/ },
      { line: 7, column: 24, path: 'sites[0].canonicalHostname', message: /is not one of the site's hostnames/ },
    ],
  },
  {
    name: 'an IP address as the preview domain',
    canary: `${CANARY}previewDomain: 192.168.0.1\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 16, path: 'previewDomain', message: /is an IP address/ }],
  },
  {
    name: 'a preview hostname over 253 characters',
    sites: SITES.replace('id: alpha', 'id: alpha-longer-id'),
    canary: `${CANARY}previewDomain: ${DOMAIN_240}\n`,
    expected: [{ line: 2, column: 9, path: 'sites[0].id', message: /^the preview hostname of this site, "alpha-longer-id\.a{63}\.…", is longer than 253 characters$/, hint: /at most 12 characters/ }],
  },
  {
    name: 'replicas beyond int32',
    canary: CANARY.replace('replicas: 2', 'replicas: 2147483648'),
    expected: [{ file: 'canary.yaml', line: 4, column: 99, path: 'services.blue.replicas', message: /^2147483648 is more than 2147483647$/, hint: /32-bit/ }],
  },
  {
    name: 'replicas far beyond any integer',
    canary: CANARY.replace('replicas: 2', 'replicas: 1e400'),
    expected: [{ file: 'canary.yaml', line: 4, column: 99, path: 'services.blue.replicas', message: /expected a whole number/ }],
  },
  {
    name: 'negative replicas say so',
    canary: CANARY.replace('replicas: 1', 'replicas: -3'),
    expected: [{ file: 'canary.yaml', line: 5, column: 99, path: 'services.green.replicas', message: /^-3 must not be negative$/ }],
  },
  {
    name: 'annotation keys that are not Kubernetes qualified names',
    canary: annotations(
      [
        '    "bad key": x',
        '    -a/b: x',
        '    example.com/: x',
        `    example.com/${'n'.repeat(64)}: x`,
        '    Example.com/x: x',
        `    ${'p'.repeat(254)}/x: x`,
        '    a/b/c: x',
        '    ok.example.com/fine_name.1: x',
      ].join('\n') + '\n',
    ),
    expected: [
      { file: 'canary.yaml', line: 8, column: 5, path: 'ingress.annotations.bad key', message: /^key "bad key" is not a Kubernetes annotation key$/, hint: /DNS prefix/ },
      { file: 'canary.yaml', line: 9, column: 5, message: /^key "-a\/b" is not a Kubernetes annotation key$/ },
      { file: 'canary.yaml', line: 10, column: 5, message: /^key "example.com\/" is not a Kubernetes annotation key$/ },
      { file: 'canary.yaml', line: 11, column: 5, message: /has a name \(after the "\/"\) longer than 63 characters/ },
      { file: 'canary.yaml', line: 12, column: 5, message: /^key "Example.com\/x" is not a Kubernetes annotation key$/ },
      { file: 'canary.yaml', line: 13, column: 5, message: /has a prefix \(before the "\/"\) longer than 253 characters/ },
      { file: 'canary.yaml', line: 14, column: 5, message: /^key "a\/b\/c" is not a Kubernetes annotation key$/ },
    ],
  },
  {
    name: 'a control character in an annotation value',
    canary: annotations('    example.com/owner: "web\\u0000team"\n'),
    expected: [{ file: 'canary.yaml', line: 8, column: 24, path: 'ingress.annotations.example.com/owner', message: /holds a control character/ }],
  },
  {
    name: 'argocd.path escaping the repo with ..',
    canary: argocd('  path: ../other-fleet\n'),
    expected: [{ file: 'canary.yaml', line: 7, column: 9, path: 'argocd.path', message: /^"..\/other-fleet" is not a folder inside the manifests repo$/, hint: /without "\." or "\.\." segments/ }],
  },
  {
    name: 'a newline in argocd.repoURL',
    canary: argocd('  repoURL: "https://git.example.com/m.git\\n  path: /"\n'),
    expected: [{ file: 'canary.yaml', line: 7, column: 12, path: 'argocd.repoURL', message: /holds a space, line break or control character/ }],
  },
  {
    name: 'a newline in argocd.targetRevision',
    canary: argocd('  targetRevision: "main\\nx"\n'),
    expected: [{ file: 'canary.yaml', line: 7, column: 19, path: 'argocd.targetRevision', message: /holds a space, line break or control character/ }],
  },
  {
    name: 'an Argo CD project that is not a name',
    canary: argocd('  project: "a b"\n'),
    expected: [{ file: 'canary.yaml', line: 7, column: 12, path: 'argocd.project', message: /is not an Argo CD project name/ }],
  },
  {
    name: 'a secrets prefix ending in a newline',
    canary: `${CANARY}secrets:\n  prefix: "aviary/sites\\n"\n`,
    expected: [{ file: 'canary.yaml', line: 7, column: 11, path: 'secrets.prefix', message: /not a Secrets Manager name prefix/ }],
  },
  {
    name: 'a duplicate key in canary.yaml names the key',
    canary: `${CANARY}selector: blue\n`,
    expected: [{ file: 'canary.yaml', line: 6, column: 1, message: /^duplicate key "selector" \(first on line 2\)$/ }],
  },
];

describe('hostile and broken input', () => {
  it.each(HOSTILE)('$name', expectProblems);

  it.each(['..', '../x', 'a/../../b', 'a/..', '/etc', '/', './x', 'a/./b', 'a//b', 'a/', ''])('argocd.path %j is refused', (path) => {
    const found = problems(SITES, argocd(`  path: ${JSON.stringify(path)}\n`));
    expect(found.map((p) => `${p.path}: ${p.message}`)).toEqual([`argocd.path: ${JSON.stringify(path)} is not a folder inside the manifests repo`]);
  });

  it.each([
    ['a space', 'https://git.example.com/a b.git', /space, line break or control/],
    ['a tab', 'https://git.example.com/a\tb.git', /space, line break or control/],
    ['a carriage return', 'https://git.example.com/m.git\r', /space, line break or control/],
    ['a NUL', 'https://git.example.com/m.git\u0000', /space, line break or control/],
    ['no scheme', 'git.example.com/m.git', /is not a git repository URL/],
    ['a file URL', 'file:///srv/m.git', /is not a git repository URL/],
    ['an ftp URL', 'ftp://git.example.com/m.git', /is not a git repository URL/],
    ['a token', 'https://bot:ghp_secret@github.com/example/m.git', /holds a password or token/],
    ['empty', '', /must not be empty/],
  ])('argocd.repoURL with %s is refused', (_, url, message) => {
    const found = problems(SITES, argocd(`  repoURL: ${JSON.stringify(url)}\n`));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file: 'canary.yaml', line: 7, column: 12, path: 'argocd.repoURL' });
    expect(found[0].message).toMatch(message);
  });

  it('100,000 copies of one hostname: two problems, quickly', () => {
    const hosts = Array(100_000).fill('alpha.example.com').join(', ');
    const started = performance.now();
    const found = problems(SITES.replace('[alpha.example.com]', `[${hosts}]`));
    // Loose on purpose: what matters is two problems, not 99,999 (which also took seconds to format).
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(found.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`)).toEqual([
      '5:16 sites[0].hostnames: lists more than 99 hostnames',
      '5:36 sites[0].hostnames[1]: hostname "alpha.example.com" is already used by sites[0] (alpha) (99999 times here)',
    ]);
  });

  it(`lists at most ${MAX_PROBLEMS} problems, then how many more there are`, () => {
    const bad = Array.from({ length: 150 }, (_, i) => `  - { id: s${i}, name: S, theme: astra, hostnames: [s${i}.example.com], service: red }`).join('\n');
    const found = problems(`sites:\n${bad}\n`);
    expect(found).toHaveLength(MAX_PROBLEMS + 1);
    expect(found[MAX_PROBLEMS - 1]).toMatchObject({ line: MAX_PROBLEMS + 1, path: `sites[${MAX_PROBLEMS - 1}].service` });
    expect(found[MAX_PROBLEMS]).toMatchObject({ file: 'sites.yaml', line: 0, message: '… and 50 more problems, not listed' });
    // The count says how many were found, not how many lines were printed.
    const error = (() => {
      try {
        parseFleet(new Source('sites.yaml', `sites:\n${bad}\n`), new Source('canary.yaml', CANARY));
      } catch (e) {
        return e as InvalidInputError;
      }
    })();
    expect(error?.total).toBe(150);
    expect(error?.message.split('\n')[0]).toBe('150 problems in the inputs:');
  });

  it('accepts values at every limit', () => {
    const hostnames = Array.from({ length: MAX_HOSTNAMES }, (_, i) => `h${i}.example.com`).join(', ');
    const fleet = parseFleet(
      new Source(
        'sites.yaml',
        `sites:\n  - id: alpha-longer\n    name: "${'T'.repeat(MAX_TITLE_LENGTH)}"\n    theme: ${'t'.repeat(100)}\n    hostnames: [${hostnames}]\n    service: blue\n`,
      ),
      new Source(
        'canary.yaml',
        `${CANARY.replace('replicas: 2', 'replicas: 2147483647')}previewDomain: ${DOMAIN_240}\n` +
          `ingress:\n  annotations:\n    ${'p'.repeat(253)}/${'n'.repeat(63)}: "multi\\nline\\tvalue"\n    plain-name: "yes"\n` +
          `argocd:\n  repoURL: ssh://git@git.example.com:2222/fleet/m.git\n  path: clusters/prod..old/a.b\n  targetRevision: v1.2.3\n  project: team.example\n`,
      ),
    );
    expect(fleet.sites[0].hostnames).toHaveLength(MAX_HOSTNAMES);
    expect(fleet.canary.services.blue.replicas).toBe(2147483647);
    expect(fleet.canary.settings.argocd.path).toBe('clusters/prod..old/a.b');
    for (const url of ['https://github.com/example/m.git', 'http://git.local/m', 'git@github.com:example/m.git', 'git://git.example.com/m.git', 'https://bot@github.com/example/m.git']) {
      expect(problems(SITES, argocd(`  repoURL: "${url}"\n`)), url).toEqual([]);
    }
  });
});

describe('reading the files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aviary-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  function loadProblems(sites: string, canary: string): Problem[] {
    try {
      loadFleet(sites, canary);
    } catch (error) {
      if (error instanceof InvalidInputError) return [...error.problems];
      throw error;
    }
    return [];
  }

  it('invalid UTF-8 is a located problem, not silently replaced with U+FFFD', () => {
    const sites = write('bad-utf8.yaml', Buffer.concat([Buffer.from('sites:\n  - id: alpha\n    name: "A'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]));
    const canary = write('canary.yaml', CANARY);
    expect(loadProblems(sites, canary)).toEqual([
      { file: sites, line: 3, column: 13, path: '', message: 'the file is not valid UTF-8 (byte 0xff at offset 33)', hint: 'save it as UTF-8' },
    ]);
  });

  it('a real U+FFFD before the invalid byte does not hide it', () => {
    const sites = write('fffd.yaml', Buffer.concat([Buffer.from('sites:\n  - id: "\uFFFD'), Buffer.from([0xc3, 0x28])]));
    const [problem] = loadProblems(sites, write('canary.yaml', CANARY));
    expect(problem).toMatchObject({ line: 2, column: 11, message: 'the file is not valid UTF-8 (byte 0xc3 at offset 19)' });
  });

  it('a UTF-16 file is refused at its first byte', () => {
    const canary = write('utf16.yaml', Buffer.from(`\ufeff${CANARY}`, 'utf16le'));
    expect(loadProblems(write('sites.yaml', SITES), canary)).toEqual([expect.objectContaining({ file: canary, line: 1, column: 1, message: expect.stringMatching(/not valid UTF-8 \(byte 0xff at offset 0\)/) })]);
  });

  it('valid UTF-8 (with a BOM and non-ASCII titles) is read as it is', () => {
    const source = readSource(write('ok.yaml', `\ufeff${SITES.replace('name: Alpha', 'name: "Café 😀 \uFFFD"')}`));
    expect(source).toBeInstanceOf(Source);
    expect(((source as Source).toJS() as { sites: Array<{ name: string }> }).sites[0].name).toBe('Café 😀 \uFFFD');
  });

  it('every hostile file gives located problems through loadFleet, never another error', () => {
    const canary = write('canary.yaml', CANARY);
    for (const { name, sites, canary: canaryText } of HOSTILE) {
      const found = loadProblems(write('s.yaml', sites ?? SITES), canaryText === undefined ? canary : write('c.yaml', canaryText));
      expect(found.length, name).toBeGreaterThan(0);
      for (const p of found) expect(p.line, `${name}: ${p.message}`).toBeGreaterThan(0);
    }
  });
});
