import { describe, expect, test } from 'vitest';
import {
  canarySites,
  createSite,
  pickSites,
  promoteSites,
  rerunSites,
  selectCanary,
  setCanaryImage,
  terminateSites,
  upgradeSites,
  type EditInput,
  type EditedTexts,
} from '../../src/sites/edit.js';
import { parseFleet } from '../../src/sites/load.js';
import { InvalidInputError } from '../../src/sites/problems.js';
import { Source } from '../../src/sites/source.js';
import type { Fleet } from '../../src/sites/types.js';
import { CANARY_FIXTURE, DIGEST_BLUE, DIGEST_GREEN, DIGEST_NEW, fleetOf, SITES_FIXTURE } from '../support/fixtures.js';

function inputOf(sites = SITES_FIXTURE, canary = CANARY_FIXTURE): EditInput {
  const s = new Source('sites.yaml', sites);
  const c = new Source('canary.yaml', canary);
  return { fleet: parseFleet(s, c), sites: s, canary: c };
}

/** Reads the edited files back through the real validator. */
function reread(texts: EditedTexts): Fleet {
  return parseFleet(new Source('sites.yaml', texts.sites), new Source('canary.yaml', texts.canary));
}

function site(fleet: Fleet, id: string) {
  const found = fleet.sites.find((s) => s.id === id);
  if (!found) throw new Error(`no site ${id}`);
  return found;
}

/** `text` with exactly one occurrence of `from` replaced: everything else must stay byte-identical. */
function swap(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`expected exactly one ${JSON.stringify(from)}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

describe('upgrade', () => {
  test('moves service to the canary and writes the old service as ingress, keeping the line comment in its column', () => {
    const out = upgradeSites(inputOf(), ['alpha']);
    expect(out.texts.sites).toBe(
      swap(SITES_FIXTURE, '    service: blue                 # on blue for now\n', '    service: green                # on blue for now\n    ingress: blue\n'),
    );
    expect(out.texts.canary).toBe(CANARY_FIXTURE);
    expect(out.moved).toEqual([{ id: 'alpha', from: { service: 'blue', ingress: 'blue' }, to: { service: 'green', ingress: 'blue' } }]);
    const alpha = site(reread(out.texts), 'alpha');
    expect([alpha.service, alpha.ingress]).toEqual(['green', 'blue']);
  });

  test('edits a flow-style entry in place', () => {
    const out = upgradeSites(inputOf(), ['gamma']);
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, 'service: blue }', 'service: green, ingress: blue }'));
    expect(site(reread(out.texts), 'gamma')).toMatchObject({ service: 'green', ingress: 'blue' });
  });

  test('a site already on the canary is a no-op: the text is returned unchanged', () => {
    const out = upgradeSites(inputOf(), ['beta', 'delta']);
    expect(out.texts.sites).toBe(SITES_FIXTURE);
    expect(out.moved).toEqual([]);
    expect(out.unchanged).toEqual(['beta', 'delta']);
  });

  test('keeps an explicit ingress as it is', () => {
    const sites = swap(SITES_FIXTURE, '    service: green\n    ingress: blue', '    service: blue\n    ingress: green');
    const out = upgradeSites(inputOf(sites), ['beta']);
    expect(out.texts.sites).toBe(swap(sites, '    service: blue\n    ingress: green', '    service: green\n    ingress: green'));
  });

  test('CRLF files get CRLF lines', () => {
    const crlf = SITES_FIXTURE.replaceAll('\n', '\r\n');
    const out = upgradeSites(inputOf(crlf), ['alpha']);
    expect(out.texts.sites).toBe(
      swap(crlf, '    service: blue                 # on blue for now\r\n', '    service: green                # on blue for now\r\n    ingress: blue\r\n'),
    );
    expect(site(reread(out.texts), 'alpha').ingress).toBe('blue');
  });
});

describe('promote', () => {
  test('an upgraded site: its ingress line goes, so traffic follows service to the canary', () => {
    const out = promoteSites(inputOf(), ['beta']);
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, '    ingress: blue   # traffic stays on blue\n', ''));
    expect(site(reread(out.texts), 'beta')).toMatchObject({ service: 'green', ingress: 'green' });
  });

  test('a site on the old color moves both service and traffic; no ingress key is needed', () => {
    const out = promoteSites(inputOf(), ['alpha', 'gamma']);
    const expected = swap(
      swap(SITES_FIXTURE, '    service: blue                 # on blue for now', '    service: green                # on blue for now'),
      'service: blue }',
      'service: green }',
    );
    expect(out.texts.sites).toBe(expected);
    const fleet = reread(out.texts);
    expect(site(fleet, 'alpha')).toMatchObject({ service: 'green', ingress: 'green' });
    expect(site(fleet, 'gamma')).toMatchObject({ service: 'green', ingress: 'green' });
  });

  test('an ingress that is not on a line of its own is set to the canary instead of removed', () => {
    const flow = swap(SITES_FIXTURE, 'service: blue }', 'service: green, ingress: blue }');
    expect(promoteSites(inputOf(flow), ['gamma']).texts.sites).toBe(swap(flow, 'ingress: blue }', 'ingress: green }'));

    const first = swap(SITES_FIXTURE, '  - id: beta\n', '  - ingress: blue\n    id: beta\n').replace('    ingress: blue   # traffic stays on blue\n', '');
    const out = promoteSites(inputOf(first), ['beta']);
    expect(out.texts.sites).toBe(swap(first, '  - ingress: blue\n', '  - ingress: green\n'));
    expect(site(reread(out.texts), 'beta').ingress).toBe('green');
  });

  test('a site fully on the canary is a no-op', () => {
    const out = promoteSites(inputOf(), ['delta']);
    expect(out.texts.sites).toBe(SITES_FIXTURE);
    expect(out.unchanged).toEqual(['delta']);
  });
});

describe('rerun', () => {
  const counts = (install: number, updateDb: number, theme: number, flush: number) => ({ install, 'update-db': updateDb, theme, flush });

  test('adds rerun: 1 after the last key of a block or flow entry, then counts it up; nothing else changes', () => {
    const input = inputOf();
    const once = rerunSites(input, ['beta', 'gamma']);
    expect(once.reran).toEqual([
      { id: 'beta', rerun: counts(1, 1, 1, 1) },
      { id: 'gamma', rerun: counts(1, 1, 1, 1) },
    ]);
    let expected = swap(SITES_FIXTURE, 'ingress: blue   # traffic stays on blue\n', 'ingress: blue   # traffic stays on blue\n    rerun: 1\n');
    expected = swap(expected, 'service: blue }', 'service: blue, rerun: 1 }');
    expect(once.texts.sites).toBe(expected);
    expect(once.texts.canary).toBe(input.canary.text);
    const fleet = reread(once.texts);
    expect([site(fleet, 'alpha').rerun, site(fleet, 'beta').rerun, site(fleet, 'gamma').rerun]).toEqual([counts(0, 0, 0, 0), counts(1, 1, 1, 1), counts(1, 1, 1, 1)]);

    const twice = rerunSites({ fleet, sites: new Source('sites.yaml', once.texts.sites), canary: input.canary }, ['beta']);
    expect(twice.texts.sites).toBe(swap(once.texts.sites, '    rerun: 1\n', '    rerun: 2\n'));
    expect(site(reread(twice.texts), 'beta').rerun).toEqual(counts(2, 2, 2, 2));
  });

  test('--job counts one Job: a map once the counts differ', () => {
    const input = inputOf();
    const theme = rerunSites(input, ['alpha'], 'theme');
    expect(theme.texts.sites).toBe(swap(SITES_FIXTURE, '    service: blue                 # on blue for now\n', '    service: blue                 # on blue for now\n    rerun: { theme: 1 }\n'));
    const fleet = reread(theme.texts);
    expect(site(fleet, 'alpha').rerun).toEqual(counts(0, 0, 1, 0));
    const all = rerunSites({ fleet, sites: new Source('sites.yaml', theme.texts.sites), canary: input.canary }, ['alpha']);
    expect(site(reread(all.texts), 'alpha').rerun).toEqual(counts(1, 1, 2, 1));
    expect(all.texts.sites).toContain('    rerun: { install: 1, update-db: 1, theme: 2, flush: 1 }\n');
  });
});

describe('terminate', () => {
  test('the first entry goes with its blank separator; the header comment stays', () => {
    const out = terminateSites(inputOf(), ['alpha']);
    const alpha = SITES_FIXTURE.slice(SITES_FIXTURE.indexOf('  - id: alpha'), SITES_FIXTURE.indexOf('  # beta was'));
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, alpha, ''));
    expect(out.removed.map((s) => s.id)).toEqual(['alpha']);
    expect(reread(out.texts).sites.map((s) => s.id)).toEqual(['beta', 'gamma', 'delta']);
  });

  test('an entry goes with the comment glued above it', () => {
    const out = terminateSites(inputOf(), ['beta']);
    const beta = SITES_FIXTURE.slice(SITES_FIXTURE.indexOf('  # beta was'), SITES_FIXTURE.indexOf('  - { id: gamma'));
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, beta, ''));
  });

  test('the last entry takes the blank line before it; the comment after the list stays', () => {
    const out = terminateSites(inputOf(), ['delta']);
    const delta = SITES_FIXTURE.slice(SITES_FIXTURE.indexOf('service: blue }\n') + 'service: blue }\n'.length, SITES_FIXTURE.indexOf('# end of the fleet'));
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, delta, ''));
    expect(out.texts.sites.endsWith('service: blue }\n# end of the fleet\n')).toBe(true);
  });

  test('neighbours and a flow-style entry in one edit', () => {
    const out = terminateSites(inputOf(), ['gamma', 'beta']);
    expect(reread(out.texts).sites.map((s) => s.id)).toEqual(['alpha', 'delta']);
    expect(out.texts.sites).toBe(
      SITES_FIXTURE.slice(0, SITES_FIXTURE.indexOf('  # beta was')) + SITES_FIXTURE.slice(SITES_FIXTURE.indexOf('  - id: delta')),
    );
  });

  test('a flow-style list keeps the other entries and its trailing comment', () => {
    const flow = 'sites: [{ id: a, name: A, theme: astra, hostnames: [a.example.com], service: blue }, { id: b, name: B, theme: astra, hostnames: [b.example.com], service: blue }]  # two\n';
    expect(terminateSites(inputOf(flow), ['a']).texts.sites).toBe('sites: [{ id: b, name: B, theme: astra, hostnames: [b.example.com], service: blue }]  # two\n');
  });

  test('entries whose "-" is at column 0, and comment lines inside an entry, go with it', () => {
    const text = 'sites:\n- id: a\n  name: A\n  theme: astra\n  hostnames: [a.example.com]\n  service: blue\n  # ingress: green   (later)\n- id: b\n  name: B\n  theme: astra\n  hostnames: [b.example.com]\n  service: blue\n';
    const out = terminateSites(inputOf(text), ['a']);
    expect(out.texts.sites).toBe('sites:\n- id: b\n  name: B\n  theme: astra\n  hostnames: [b.example.com]\n  service: blue\n');
    const created = createSite(inputOf(out.texts.sites), { id: 'c', name: 'C', theme: 'astra', hostnames: ['c.example.com'] });
    expect(created.texts.sites).toBe(`${out.texts.sites}- id: c\n  name: "C"\n  theme: astra\n  hostnames: [c.example.com]\n  canonicalHostname: c.example.com\n  service: green\n`);
  });

  test('removing every site leaves an empty, valid list', () => {
    const out = terminateSites(inputOf(), ['alpha', 'beta', 'gamma', 'delta']);
    expect(out.texts.sites).toBe('# The fleet: one entry per site.\nsites: []\n# end of the fleet\n');
    expect(reread(out.texts).sites).toEqual([]);
  });
});

describe('create', () => {
  const shop = { id: 'shop', name: 'Shop "One" | Two', theme: 'astra', hostnames: ['shop.example.com', 'www.shop.example.com'] };

  test('appends after the last entry in the file style, service defaulting to the active canary', () => {
    const out = createSite(inputOf(), shop);
    const entry =
      '  - id: shop\n    name: "Shop \\"One\\" | Two"\n    theme: astra\n    hostnames: [shop.example.com, www.shop.example.com]\n    canonicalHostname: shop.example.com\n    service: green\n';
    // After delta, separated by a blank line like the other entries, before the comment that ends the file.
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, '    service: green\n# end of the fleet\n', `    service: green\n\n${entry}# end of the fleet\n`));
    expect(site(reread(out.texts), 'shop')).toEqual({ ...shop, canonicalHostname: 'shop.example.com', service: 'green', ingress: 'green', rerun: { install: 0, 'update-db': 0, theme: 0, flush: 0 }, cluster: 'in-cluster' });
  });

  test('an empty flow list becomes a block list; a flow list gets a flow entry', () => {
    const empty = createSite(inputOf('sites: []\n'), { ...shop, service: 'blue', canonicalHostname: 'www.shop.example.com' });
    expect(empty.texts.sites).toBe(
      'sites:\n  - id: shop\n    name: "Shop \\"One\\" | Two"\n    theme: astra\n    hostnames: [shop.example.com, www.shop.example.com]\n    canonicalHostname: www.shop.example.com\n    service: blue\n',
    );
    const flow = createSite(inputOf('sites: [{ id: a, name: A, theme: astra, hostnames: [a.example.com], service: blue }]  # tiny\n'), shop);
    expect(flow.texts.sites).toBe(
      'sites: [{ id: a, name: A, theme: astra, hostnames: [a.example.com], service: blue }, { id: shop, name: "Shop \\"One\\" | Two", theme: astra, hostnames: [shop.example.com, www.shop.example.com], canonicalHostname: shop.example.com, service: green }]  # tiny\n',
    );
    expect(reread(flow.texts).sites.map((s) => s.id)).toEqual(['a', 'shop']);
  });

  test('values are quoted so they cannot smuggle YAML: a hostname with a comma stays one (invalid) hostname', () => {
    const out = createSite(inputOf(), { ...shop, hostnames: ['x.example.com, alpha.example.com'], name: 'line\nbreak: true' });
    expect(out.texts.sites).toContain('hostnames: ["x.example.com, alpha.example.com"]');
    expect(() => reread(out.texts)).toThrow(/is not a valid hostname/);
  });

  test('a duplicate hostname makes the result invalid, which the caller refuses', () => {
    const out = createSite(inputOf(), { ...shop, hostnames: ['alpha.example.com'] });
    expect(() => reread(out.texts)).toThrow(InvalidInputError);
  });
});

describe('canary', () => {
  test('select keeps the comment column; selecting the active color changes nothing', () => {
    const out = selectCanary(inputOf(), 'blue');
    expect(out.texts.canary).toBe(swap(CANARY_FIXTURE, 'selector: green        #', 'selector: blue         #'));
    expect(out.texts.sites).toBe(SITES_FIXTURE);
    expect(reread(out.texts).canary.selector).toBe('blue');
    expect(selectCanary(inputOf(), 'green').texts.canary).toBe(CANARY_FIXTURE);
  });

  test('set-image changes the active color digest, keeps its quotes, and names the sites whose Jobs rerun', () => {
    const out = setCanaryImage(inputOf(), DIGEST_NEW);
    expect(out.texts.canary).toBe(swap(CANARY_FIXTURE, `"${DIGEST_GREEN}"`, `"${DIGEST_NEW}"`));
    expect(out.texts.sites).toBe(SITES_FIXTURE);
    expect(out).toMatchObject({ color: 'green', previous: DIGEST_GREEN, rerun: ['beta', 'delta'], promoted: [] });
    expect(reread(out.texts).canary.services).toMatchObject({ green: { imageTag: DIGEST_NEW }, blue: { imageTag: DIGEST_BLUE } });
  });

  test('set-image with promote also promotes the sites on the canary color whose traffic is elsewhere', () => {
    const out = setCanaryImage(inputOf(), DIGEST_NEW, { promote: true });
    expect(out.texts.sites).toBe(swap(SITES_FIXTURE, '    ingress: blue   # traffic stays on blue\n', ''));
    expect(out.promoted.map((m) => m.id)).toEqual(['beta']);
  });

  test('set-image of the digest already there changes nothing', () => {
    const out = setCanaryImage(inputOf(), DIGEST_GREEN);
    expect(out.texts).toEqual({ sites: SITES_FIXTURE, canary: CANARY_FIXTURE });
    expect(out.rerun).toEqual([]);
  });
});

describe('pickSites', () => {
  const { fleet } = inputOf();
  test('ids, --all, --from and unknown ids', () => {
    expect(pickSites(fleet, { ids: ['gamma', 'alpha', 'nope', 'nope'] })).toEqual({ ids: ['alpha', 'gamma'], unknown: ['nope'] });
    expect(pickSites(fleet, { ids: [], all: true }).ids).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(pickSites(fleet, { ids: [], all: true, from: 'blue' }).ids).toEqual(['alpha', 'gamma']);
    expect(pickSites(fleet, { ids: [], from: 'green' }).ids).toEqual(['beta', 'delta']);
    expect(pickSites(fleet, { ids: [] }).ids).toEqual([]);
  });
});

describe('bulk edits over thousands of sites', () => {
  const n = 5000;
  const big = fleetOf(n, 'blue');

  /** Parsing the file once is the yardstick: it scales with the machine's load just as the edit does. */
  function parseMs(): number {
    const started = performance.now();
    void new Source('sites.yaml', big).doc;
    return performance.now() - started;
  }

  test(`upgrading ${n} sites is one linear pass`, () => {
    const input = inputOf(big);
    const yardstick = parseMs();
    const started = performance.now();
    const out = upgradeSites(input, pickSites(input.fleet, { ids: [], all: true }).ids);
    const ms = performance.now() - started;
    expect(out.moved).toHaveLength(n);
    // Every entry gained exactly its ingress line; nothing else moved.
    expect(out.texts.sites).toBe(big.replaceAll('    service: blue\n', '    service: green\n    ingress: blue\n'));
    const fleet = reread(out.texts);
    expect(fleet.sites.every((s) => s.service === 'green' && s.ingress === 'blue')).toBe(true);
    // Re-parsing or re-copying the text per site would cost many parses; the whole edit costs less than one.
    expect(ms).toBeLessThan(yardstick);
  });

  test(`promoting and terminating half of ${n} sites`, () => {
    const input = inputOf(big);
    const half = input.fleet.sites.filter((_, i) => i % 2 === 0).map((s) => s.id);
    const promoted = reread(promoteSites(input, half).texts);
    expect(promoted.sites.filter((s) => s.service === 'green' && s.ingress === 'green')).toHaveLength(n / 2);

    const yardstick = parseMs();
    const started = performance.now();
    const out = terminateSites(input, half);
    expect(performance.now() - started).toBeLessThan(yardstick);
    const left = reread(out.texts).sites.map((s) => s.id);
    expect(left).toEqual(input.fleet.sites.filter((_, i) => i % 2 === 1).map((s) => s.id));
    // The comment of each remaining entry is still glued to it.
    expect(out.texts.sites).toContain('  # site number 1\n  - id: site-00001\n');
    expect(out.texts.sites).not.toContain('# site number 0\n');
  });
});

describe('canary step (rollout --weight)', () => {
  test('runs each site on the canary and sends it the share, in one edit of the lines that change', () => {
    const out = canarySites(inputOf(), ['alpha', 'beta', 'delta'], 'green', 10);
    // alpha: on blue; beta: on green, traffic on blue; delta: all on green already (keeps it: never moved back).
    expect(out.texts.sites).toBe(
      swap(
        swap(SITES_FIXTURE, '    service: blue                 # on blue for now\n', '    service: green                # on blue for now\n    ingress: { blue: 90, green: 10 }\n'),
        'ingress: blue   # traffic stays on blue',
        'ingress: { blue: 90, green: 10 }   # traffic stays on blue',
      ),
    );
    expect(out.moved.map((m) => m.id)).toEqual(['alpha']);
    expect(out.shifted.map((m) => m.id)).toEqual(['alpha', 'beta']);
    const fleet = reread(out.texts);
    expect(site(fleet, 'alpha')).toMatchObject({ service: 'green', weights: { blue: 90, green: 10 } });
    expect(site(fleet, 'beta')).toMatchObject({ service: 'green', weights: { blue: 90, green: 10 } });
    expect(site(fleet, 'delta')).toMatchObject({ service: 'green', ingress: 'green' });
    expect(site(fleet, 'delta').weights).toBeUndefined();
  });

  test('a flow-style entry too', () => {
    const fleet = reread(canarySites(inputOf(), ['gamma'], 'green', 25).texts);
    expect(site(fleet, 'gamma')).toMatchObject({ service: 'green', weights: { blue: 75, green: 25 } });
  });
});
