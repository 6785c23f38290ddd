// What the YAML parser lets through and Source must catch before anyone reads
// the plain data: aliases (undefined, circular, bombs), unknown tags, strings
// that are not Unicode, duplicate keys. Each is a located problem, and reading
// the data afterwards never throws.
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { BY_ITEMS_MIN_BYTES, MAX_ALIAS_EXPANSION, MAX_ALIASES, Source } from '../../src/sites/source.js';

/** `line:column message` of every syntax problem; and, when there are none, the data must be readable. */
function problemsOf(text: string): string[] {
  const source = new Source('f.yaml', text);
  const found = source.syntaxProblems().map((p) => `${p.line}:${p.column} ${p.message}`);
  if (found.length === 0) expect(() => source.toJS()).not.toThrow();
  return found;
}

/** Nine levels of nine aliases: 9^9 values once expanded, from a file of under a kilobyte. */
function billionLaughs(): string {
  const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  return `${lines.join('\n')}\nsites: *i\n`;
}

describe('Source: aliases', () => {
  it('an undefined alias is located at the alias, and names it', () => {
    expect(problemsOf('sites:\n  - id: a\n    name: *nope\n')).toEqual(['3:11 undefined alias *nope']);
  });

  it('an alias used before its anchor is undefined', () => {
    expect(problemsOf('a: *x\nb: &x 1\n')).toEqual(['1:4 undefined alias *x']);
  });

  it('an alias inside its own anchor is refused (the data would be circular)', () => {
    expect(problemsOf('sites: &s [*s]\n')).toEqual(['1:12 alias *s is inside its own anchor']);
    expect(problemsOf('a: &m\n  b: [*m]\n')).toEqual(['2:7 alias *m is inside its own anchor']);
  });

  it('an alias bomb is refused at its biggest alias, in milliseconds', () => {
    const started = performance.now();
    const found = problemsOf(billionLaughs());
    expect(found).toEqual([`10:8 aliases expand this file by more than ${MAX_ALIAS_EXPANSION.toLocaleString('en')} values (this one alone to 435,848,050)`]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a wide bomb (one big list aliased many times) is refused too', () => {
    const big = `[${Array(5000).fill('x').join(', ')}]`;
    expect(problemsOf(`big: &b ${big}\nsites: [${Array(50).fill('*b').join(', ')}]\n`)).toEqual([
      expect.stringMatching(/^2:9 aliases expand this file by more than 100,000 values \(this one alone to 5,001\)$/),
    ]);
  });

  it(`more than ${MAX_ALIASES} aliases are refused at the first one over, without the yaml package's quadratic scan`, () => {
    // 40,000 anchors and aliases: seconds in one pass, about 100 s with a scan of the document per alias.
    const anchors = Array.from({ length: 40_000 }, (_, i) => `  - &a${i} v`).join('\n');
    const aliases = Array.from({ length: 40_000 }, (_, i) => `  - *a${i}`).join('\n');
    const started = performance.now();
    expect(problemsOf(`x:\n${anchors}\n${aliases}\n`)).toEqual([`${40_000 + MAX_ALIASES + 2}:5 more than ${MAX_ALIASES} aliases in one file`]);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('a few ordinary aliases are fine', () => {
    expect(problemsOf('hosts: &h [a.example.com]\nsites:\n  - hostnames: *h\n  - hostnames: *h\n')).toEqual([]);
    expect(new Source('f.yaml', 'hosts: &h [a.example.com]\ncopy: *h\n').toJS()).toEqual({ hosts: ['a.example.com'], copy: ['a.example.com'] });
  });
});

describe('Source: tags', () => {
  it.each([
    ['!!js/function', 'name: !!js/function "function () {}"\n', '1:21 unknown YAML tag !!js/function'],
    ['a local tag', 'name: !mytag astra\n', '1:14 unknown YAML tag !mytag'],
    ['!!binary where a string is expected', 'name: !!binary aGVsbG8=\n', '1:16 unknown YAML tag !!binary'],
    ['!!timestamp', 'name: !!timestamp 2001-12-14\n', '1:19 unknown YAML tag !!timestamp'],
    ['a tag on a mapping', 'ingress: !mytag { className: nginx }\n', '1:17 unknown YAML tag !mytag'],
    ['!!set', 'hosts: !!set { a.example.com }\n', '1:14 unknown YAML tag !!set'],
    ['a %TAG shorthand', '%TAG !e! tag:example.com,2000:\n---\nname: !e!x a\n', '3:12 unknown YAML tag tag:example.com,2000:x'],
  ])('%s is a located problem, not silently dropped', (_, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });

  it('the core schema tags are allowed: !!str makes a number a string', () => {
    expect(problemsOf('name: !!str 12\nlist: !!seq [a]\nmap: !!map {a: 1}\n')).toEqual([]);
    expect(new Source('f.yaml', 'name: !!str 12\n').toJS()).toEqual({ name: '12' });
  });

  it('a YAML 1.1 timestamp, read as a date under %YAML 1.1, is refused as not text', () => {
    expect(problemsOf('%YAML 1.1\n---\nname: 2001-12-14\n')).toEqual(['3:7 is read as a Date, not as text']);
  });
});

describe('Source: strings that are not Unicode', () => {
  it.each([
    ['a lone high surrogate', 'name: "A\\ud800b"\n', '1:7'],
    ['a lone low surrogate', 'name: "\\udc00"\n', '1:7'],
    ['a reversed pair', 'name: "\\udc00\\ud800"\n', '1:7'],
    ['one in a key', '"k\\ud800": v\n', '1:1'],
    ['one deep in a list', 'sites:\n  - hostnames: ["a", "\\udfff"]\n', '2:22'],
  ])('%s is a located problem', (_, text, at) => {
    expect(problemsOf(text)).toEqual([expect.stringMatching(new RegExp(`^${at} ".*" is not valid Unicode: it holds half of a UTF-16 surrogate pair$`))]);
  });

  it('a pair written as two escapes is one valid character', () => {
    expect(problemsOf('name: "\\ud83d\\ude00"\n')).toEqual([]);
    expect(new Source('f.yaml', 'name: "\\ud83d\\ude00"\n').toJS()).toEqual({ name: '😀' });
  });
});

describe('Source: keys', () => {
  it('a duplicate key names the key and where it first appeared', () => {
    expect(problemsOf('sites:\n  - id: a\n    name: A\n    name: B\n')).toEqual(['4:5 duplicate key "name" (first on line 3)']);
  });

  it('keys that are the same string in the plain data are duplicates: 1 and "1"', () => {
    expect(problemsOf('a:\n  1: x\n  "1": y\n')).toEqual(['3:3 duplicate key "1" (first on line 2)']);
  });

  // The bounds below are loose on purpose: comparing every key with every other takes minutes at this size.
  it('a key repeated 50,000 times is one problem, found in one pass', () => {
    const started = performance.now();
    const text = `ingress:\n  annotations:\n${'    a/b: v\n'.repeat(50_000)}`;
    expect(problemsOf(text)).toEqual(['4:5 duplicate key "a/b" (first on line 3, 50000 times)']);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('a mapping of 50,000 distinct keys is checked in linear time', () => {
    const started = performance.now();
    const text = `annotations:\n${Array.from({ length: 50_000 }, (_, i) => `  k${i}.example.com/x: v`).join('\n')}\n`;
    expect(problemsOf(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('a __proto__ key is refused (zod would drop it silently)', () => {
    expect(problemsOf('ingress:\n  annotations:\n    __proto__: x\n')).toEqual(['3:5 the key "__proto__" is not allowed']);
  });

  it('a key that is a list or a mapping is refused', () => {
    expect(problemsOf('? [a, b]\n: c\n')).toEqual(['1:3 a key must be a plain string, not a list, mapping or alias']);
  });
});

describe('Source: syntax', () => {
  it('nesting too deep for the parser is a located problem, not a crash', () => {
    const found = problemsOf(`sites: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toMatch(/^1:\d+ YAML syntax error: /);
  });

  it('a problem the parser only warns about (an ambiguous alias name) is still a problem', () => {
    expect(problemsOf('a: &x: 1\n')).toEqual([expect.stringMatching(/^1:\d+ YAML syntax error: Anchor ending in : is ambiguous/)]);
  });
});

describe('Source: a large sites list, read item by item', () => {
  // Every kind of entry a person writes: comments inside and between entries, flow and block lists,
  // quoted text holding "- ", a block scalar, numbers and booleans, Windows line ends.
  const entry = (i: number) =>
    [
      `  # entry ${i}`,
      `  - id: site-${i}`,
      `    name: "Site ${i} - a \\"quoted\\" title with - dashes"`,
      '    theme: astra   # trailing comment',
      i % 3 === 0 ? `    hostnames: [s${i}.example.com, www.s${i}.example.com]` : `    hostnames:\n      - s${i}.example.com\n      - "- odd.example.com"`,
      i % 5 === 0 ? '    notes: |\n      - not an item\n        indented more\n' : `    rerun: ${i % 4}`,
      `    flag: ${i % 2 === 0 ? 'true' : 'no'}`,
      '',
    ].join('\n');
  const big = (n: number, eol = '\n') => `# the fleet\n\nsites:   # all of them\n${Array.from({ length: n }, (_, i) => entry(i)).join('\n')}\n`.replace(/\n/g, eol);
  const whole = (text: string) => parseDocument(text, { uniqueKeys: false }).toJS();

  it.each([['LF', '\n'], ['CRLF', '\r\n']])('gives exactly the data of the whole document (%s)', (_, eol) => {
    const text = big(6000, eol);
    expect(text.length).toBeGreaterThan(BY_ITEMS_MIN_BYTES);
    const source = new Source('sites.yaml', text);
    expect(source.syntaxProblems()).toEqual([]);
    expect(source.toJS()).toEqual(whole(text));
    expect((source.toJS() as { sites: unknown[] }).sites).toHaveLength(6000);
    // Read item by item: the whole document (a gigabyte at 100,000 sites) was never built.
    expect((source as unknown as { parsed?: unknown }).parsed).toBeUndefined();
  });

  it('a problem in one item is reported at its line and column in the whole file', () => {
    const lines = big(6000).split('\n');
    const at = lines.findIndex((l) => l === '  - id: site-4321');
    lines.splice(at + 3, 0, '    theme: kadence');
    const problems = new Source('sites.yaml', lines.join('\n')).syntaxProblems();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'sites.yaml', line: at + 4, column: 5, message: 'duplicate key "theme" (first on line ' + (at + 3) + ')' });
  });

  it('anchors and aliases (which may reach across items) are read from the whole document', () => {
    const text = big(6000).replace('    theme: astra   # trailing comment', '    theme: &t astra').replace(/(- id: site-5999\n(?:.*\n){2})    theme: astra {3}# trailing comment/, '$1    theme: *t');
    const source = new Source('sites.yaml', text);
    expect(source.syntaxProblems()).toEqual([]);
    const sites = (source.toJS() as { sites: { theme: string }[] }).sites;
    expect(sites[5999]!.theme).toBe('astra');
    expect(source.toJS()).toEqual(whole(text));
  });

  it('another shape (a key after the list, a flow list) is read as one document', () => {
    const after = `${big(6000)}other: 1\n`;
    expect(new Source('sites.yaml', after).toJS()).toEqual(whole(after));
    const flow = `sites: [${Array.from({ length: 40000 }, (_, i) => `{id: s${i}, name: "Site ${i}"}`).join(', ')}]\n`;
    expect(flow.length).toBeGreaterThan(BY_ITEMS_MIN_BYTES);
    expect(new Source('sites.yaml', flow).toJS()).toEqual(whole(flow));
  });

  it('an item that breaks the list (a wrong indentation) gets the whole document\'s syntax error', () => {
    const text = big(6000).replace('  - id: site-100\n', '  - id: site-100\n bad: indentation\n');
    const source = new Source('sites.yaml', text);
    const problems = source.syntaxProblems();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toMatch(/^YAML syntax error/);
  });
});
