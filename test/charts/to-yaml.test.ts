// The manifest YAML writer: whatever it writes must read back as the same
// JSON data in every YAML reader that touches a manifest — the `yaml` package
// under both its YAML 1.2 and 1.1 schemas here, and, by the rules checked at
// the end, Go's YAML 1.1 parser in kubectl and Argo CD.
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml } from '../../src/charts/to-yaml.js';

const VERSIONS = ['1.2', '1.1'] as const;

/** Reads a stream back under one YAML version; any error or warning fails. */
function readBack(text: string, version: (typeof VERSIONS)[number]): unknown[] {
  return parseAllDocuments(text, { version }).map((doc) => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((e) => e.message)).toEqual([]);
    return doc.toJS();
  });
}

/** The data a manifest means: what JSON would carry (no undefined, no -0). */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null');
}

function expectRoundTrip(docs: readonly unknown[]): string {
  const text = toYaml(docs);
  for (const version of VERSIONS) expect(readBack(text, version), `YAML ${version} of:\n${text}`).toEqual(docs.map(asJson));
  return text;
}

/** Strings a YAML reader may take for something else, or that need escaping. */
const TRICKY = [
  // booleans and nulls of YAML 1.1 and 1.2
  'yes', 'no', 'Yes', 'NO', 'y', 'n', 'Y', 'N', 'on', 'off', 'On', 'OFF', 'true', 'false', 'True', 'FALSE',
  'null', 'Null', 'NULL', '~', '',
  // numbers, dates and times as strings
  '0755', '0o755', '1e3', '1E3', '-1e-3', '0x1F', '0b101', '1:20', '1:20:30', '190:20:30', '2001-12-14', '2001-12-14t21:59:43.10-05:00',
  '1_000', '+1', '-0', '.5', '5.', '.inf', '-.inf', '.NaN', '12', '3.14', '1,000',
  // structure characters
  ' leading', 'trailing ', ' both ', 'a: b', 'a:b', 'key:', 'a #b', 'a#b', '#comment', '- item', '-', '--', '---', '...', '? x', '?',
  ':', '::', 'a,b', '[a]', '{a: 1}', '{}', '[]', '& anchor', '&a', '*alias', '*', '!tag', '!!str x', '|', '>', '|-', '>+', '%YAML 1.2', '@at', '`tick',
  '<<', '=', '{{ x }}', '{{path.basename}}', '$(WP_ADMIN_USER)',
  // quotes and escapes
  '"double"', "'single'", "it's", 'say "hi"', 'back\\slash', '\\n', '\\', 'C:\\temp\\new',
  // whitespace and control characters
  'line\nbreak', 'trailing newline\n', '\n', '\r\n', 'tab\there', '\t', 'nul\u0000byte', 'bell\u0007', 'esc\u001b[0m', 'del\u007f',
  // unicode
  'Café', 'naïve ünïcødé', '中文', 'emoji 😀', 'clef 𝄞', 'ls\u2028sep', 'ps\u2029sep', 'nel\u0085line', 'bom\ufeff', '\ufeff', 'nbsp\u00a0x', 'c1\u0080\u009f',
  // ordinary values that should stay readable
  'nginx', 'app.kubernetes.io/part-of', 'https://git.example.com/x.git', 'repo.example.com/wp@sha256:0123abcd', 'CreateNamespace=true', 'a+b',
];

describe('toYaml: tricky strings round-trip under YAML 1.2 and 1.1', () => {
  it.each(TRICKY.map((s) => [JSON.stringify(s), s]))('%s as value, key, sequence item and document', (_, s) => {
    expectRoundTrip([{ value: s }, { [s]: 'key' }, [s, [s]], s, { nested: { list: [{ [s]: s }] } }]);
  });

  it('quotes what a reader would take for another type, and leaves ordinary names plain', () => {
    expect(toYaml([{ a: 'yes', b: '0755', c: '1:20', d: 'null', e: '', f: '~', g: '2001-12-14' }])).toBe(
      'a: "yes"\nb: "0755"\nc: "1:20"\nd: "null"\ne: ""\nf: "~"\ng: "2001-12-14"\n',
    );
    expect(toYaml([{ 'app.kubernetes.io/part-of': 'aviary', image: 'r.example.com/wp@sha256:ab12', path: '/' }])).toBe(
      'app.kubernetes.io/part-of: aviary\nimage: r.example.com/wp@sha256:ab12\npath: /\n',
    );
  });

  it('writes real numbers, booleans and null unquoted', () => {
    const text = expectRoundTrip([{ int: 80, neg: -3, float: 0.25, big: 2 ** 53, t: true, f: false, none: null }]);
    expect(text).toBe('int: 80\nneg: -3\nfloat: 0.25\nbig: 9007199254740992\nt: true\nf: false\nnone: null\n');
    // As keys, the same words are strings and must be quoted.
    expect(toYaml([{ yes: 1, no: 2, null: 3, '80': 4 }])).toBe('"80": 4\n"yes": 1\n"no": 2\n"null": 3\n');
  });
});

describe('toYaml: collections', () => {
  it('writes empty objects and arrays inline, at any depth', () => {
    const docs = [{}, [], { a: {}, b: [], c: [[]], d: [{}], e: { f: { g: [] } } }];
    expect(expectRoundTrip(docs)).toBe('{}\n---\n[]\n---\na: {}\nb: []\nc:\n  - []\nd:\n  - {}\ne:\n  f:\n    g: []\n');
  });

  it('writes nested arrays and mappings in arrays', () => {
    const docs = [{ a: [[1, [2, [3]]], [], [{ b: [[]] }], { c: 1, d: [true] }] }];
    expect(expectRoundTrip(docs)).toBe(
      'a:\n  - - 1\n    - - 2\n      - - 3\n  - []\n  - - b:\n        - []\n  - c: 1\n    d:\n      - true\n',
    );
  });

  it('writes several documents separated by ---', () => {
    expect(expectRoundTrip([{ a: 1 }, { b: 2 }, 'three', [4]])).toBe('a: 1\n---\nb: 2\n---\nthree\n---\n- 4\n');
  });

  it('leaves out undefined values, like JSON', () => {
    expect(toYaml([{ a: undefined, b: 1, c: { d: undefined } }])).toBe('b: 1\nc: {}\n');
  });

  it('refuses values a manifest cannot hold', () => {
    expect(() => toYaml([{ a: Number.NaN }])).toThrow(/NaN/);
    expect(() => toYaml([{ a: Number.POSITIVE_INFINITY }])).toThrow(/Infinity/);
    expect(() => toYaml([{ a: 10n }])).toThrow(/bigint/);
    expect(() => toYaml([{ a: () => 1 }])).toThrow(/function/);
  });
});

describe('toYaml: random JSON values (seeded)', () => {
  it('3,000 random values round-trip under YAML 1.2 and 1.1', () => {
    const random = mulberry32(0x5eed);
    for (let i = 0; i < 3000; i++) {
      const value = randomJson(random, 0);
      const text = toYaml([value]);
      for (const version of VERSIONS) {
        const [back] = parseAllDocuments(text, { version }).map((doc) => {
          if (doc.errors.length) throw new Error(`value #${i} does not parse as YAML ${version}: ${doc.errors[0].message}\n${text}`);
          return doc.toJS();
        });
        expect(back, `value #${i} under YAML ${version}:\n${text}`).toEqual(asJson(value));
      }
    }
  });

  it('a stream of 300 random documents round-trips as a whole', () => {
    const random = mulberry32(42);
    const docs = Array.from({ length: 300 }, () => randomJson(random, 0));
    expectRoundTrip(docs);
  });

  it('the generator covers the hard cases', () => {
    // Guards the property test above: it must really meet these, not only plain ASCII.
    const random = mulberry32(0x5eed);
    const values = Array.from({ length: 3000 }, () => randomJson(random, 0));
    const strings: string[] = [];
    const numbers: number[] = [];
    let emptyObjects = 0;
    let emptyArrays = 0;
    let nestedArrays = 0;
    const walk = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (typeof v === 'number') numbers.push(v);
      else if (Array.isArray(v)) {
        if (v.length === 0) emptyArrays++;
        if (v.some(Array.isArray)) nestedArrays++;
        v.forEach(walk);
      } else if (v && typeof v === 'object') {
        if (Object.keys(v).length === 0) emptyObjects++;
        for (const [k, item] of Object.entries(v)) (strings.push(k), walk(item));
      }
    };
    values.forEach(walk);
    const text = strings.join('');
    for (const ch of ['\u2028', '\u0085', '\ufeff', '\u007f', '\u0000', '😀', '\n', '\\', '"', "'"]) expect(text, JSON.stringify(ch)).toContain(ch);
    for (const s of ['0755', 'yes', '', ' leading', 'a: b', '2001-12-14']) expect(strings, JSON.stringify(s)).toContain(s);
    expect(numbers.some((n) => !Number.isInteger(n))).toBe(true);
    expect(numbers.some((n) => String(n).includes('e'))).toBe(true);
    expect(numbers.some((n) => n < 0)).toBe(true);
    expect([emptyObjects, emptyArrays, nestedArrays].every((n) => n > 10)).toBe(true);
  });
});

describe('toYaml: what Go YAML parsers (kubectl, Argo CD) also accept', () => {
  // go-yaml, like libyaml, rejects a \u escape of a surrogate ("found invalid
  // Unicode character escape code"): an emoji must be written as itself or as \UXXXXXXXX.
  it('writes characters beyond U+FFFF without surrogate escapes', () => {
    const text = toYaml([{ title: 'Pizza 🍕 & 𝄞', '😀': 'key' }]);
    expect(text).not.toMatch(/\\u[dD][89a-fA-F][0-9a-fA-F]{2}/);
    for (const version of VERSIONS) expect(readBack(text, version)).toEqual([{ title: 'Pizza 🍕 & 𝄞', '😀': 'key' }]);
  });

  // YAML 1.1 counts NEL, LS and PS as line breaks: a reader folds a raw one in a
  // quoted string to a space, so they must be escaped (\N, \L, \P or \u….).
  it.each([
    ['NEL', '\u0085'],
    ['LS', '\u2028'],
    ['PS', '\u2029'],
  ])('never writes a raw %s', (_, ch) => {
    const text = toYaml([{ [`k${ch}`]: `x${ch}y` }]);
    expect(text).not.toContain(ch);
    for (const version of VERSIONS) expect(readBack(text, version)).toEqual([{ [`k${ch}`]: `x${ch}y` }]);
  });

  it('writes no raw control character except the newline that ends a line', () => {
    const all = Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)).join('') + '\u007f\u0080\u009f';
    const text = toYaml([{ all }]);
    expect(text.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    for (const version of VERSIONS) expect(readBack(text, version)).toEqual([{ all }]);
  });
});

describe('toYaml: YAML 1.1 special forms, as Go reads them (sigs.k8s.io/yaml → go-yaml)', () => {
  // go-yaml's resolver (resolve.go) turns a plain scalar into something other
  // than a string only if it is one of these words, or starts with one of
  // `+-.0123456789~` (numbers, dates, .inf/.nan, sexagesimal), or is empty.
  const GO_RESOLVE_MAP = new Set([
    'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
    'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
    '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '<<',
  ]);
  const goMayResolve = (plain: string) => plain === '' || GO_RESOLVE_MAP.has(plain) || '+-.0123456789~'.includes(plain[0]);

  /** Strings that YAML 1.1 (or 1.2) reads as another type when written plain. */
  const YAML_11_FORMS = [
    ...GO_RESOLVE_MAP,
    // integers: octal (1.1 and 1.2 spellings), binary, hex, underscores, sexagesimal, signs
    '017', '0o17', '0b101', '-0b101', '0x1F', '1_000', '+1_000', '1:20', '190:20:30', '-1:20', '+12', '-0',
    // floats: exponents, underscores, sexagesimal, leading or trailing dot
    '1e3', '1.5e-3', '1_000.5', '1:20.5', '.5', '5.', '-.5',
    // timestamps
    '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-12-15T02:59:43.1Z',
    // value key (1.1 `=`) and merge key
    '=', '<<',
  ];

  it.each(YAML_11_FORMS.map((s) => [JSON.stringify(s), s]))('%s is double-quoted as value, key and document, and reads back the same in YAML 1.1 and 1.2', (_, s) => {
    expect(toYaml([{ v: s }])).toBe(`v: ${JSON.stringify(s)}\n`);
    expect(toYaml([{ [s]: 1 }])).toBe(`${JSON.stringify(s)}: 1\n`);
    expect(toYaml([s])).toBe(`${JSON.stringify(s)}\n`);
    expectRoundTrip([{ v: s }, { [s]: 'k' }, [s], s]);
  });

  it('every string written plain is one go-yaml keeps a string (tricky, special and 3,000 random strings)', () => {
    const random = mulberry32(0x90);
    const strings = [...TRICKY, ...YAML_11_FORMS, ...Array.from({ length: 3000 }, () => randomString(random))];
    const plain = strings.filter((s) => toYaml([s]) === `${s}\n`);
    expect(plain.length).toBeGreaterThan(20);
    for (const s of plain) expect(goMayResolve(s), JSON.stringify(s)).toBe(false);
  });

  // go-yaml's reader refuses U+FFFE and U+FFFF anywhere in the stream ("control characters are not allowed").
  it.each([
    ['U+FFFE', '\ufffe'],
    ['U+FFFF', '\uffff'],
  ])('never writes a raw %s', (_, ch) => {
    const text = toYaml([{ [`k${ch}`]: `x${ch}y` }]);
    expect(text).not.toContain(ch);
    for (const version of VERSIONS) expect(readBack(text, version)).toEqual([{ [`k${ch}`]: `x${ch}y` }]);
  });

  // JSON.stringify would write a lone surrogate as \udXXX, which go-yaml refuses, and UTF-8 cannot hold it:
  // the inputs refuse such strings, and the writer refuses to emit one rather than write a broken manifest.
  it.each([
    ['a lone high surrogate as a value', { a: 'x\ud800y' }],
    ['a lone low surrogate as a value', { a: '\udc00' }],
    ['a high surrogate at the end', { a: 'x\ud83d' }],
    ['one in a key', { 'k\udfff': 'v' }],
    ['one in a list', { a: ['ok', '\ud800'] }],
  ])('refuses %s', (_, doc) => {
    expect(() => toYaml([doc])).toThrow(/cannot write a lone surrogate to a manifest/);
  });

  it('writes a character beyond U+FFFF (a valid surrogate pair) as itself', () => {
    expect(toYaml([{ a: 'x\ud83d\ude00' }])).toBe('a: "x😀"\n');
  });
});

/** A small seeded PRNG (mulberry32): the same seed gives the same values on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  ...'abcXYZ019 _-.:/#?!&*|>%@`"\'\\{}[],=<~$()+',
  '\t', '\n', '\r', '\u0000', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', 'é', 'ß', '中', '😀', '𝄞',
];

function randomString(random: () => number): string {
  const roll = random();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  if (roll < 0.3) return pick(TRICKY);
  if (roll < 0.4) return String(randomNumber(random));
  const length = Math.floor(random() * 12);
  let s = '';
  for (let i = 0; i < length; i++) s += pick(ALPHABET);
  return s;
}

function randomNumber(random: () => number): number {
  const roll = random();
  if (roll < 0.3) return Math.floor(random() * 100);
  if (roll < 0.5) return Math.floor((random() - 0.5) * 2 ** 40);
  if (roll < 0.7) return Number(((random() - 0.5) * 1000).toFixed(3)) || 1;
  if (roll < 0.85) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20) || 2;
  return Number.MAX_SAFE_INTEGER - Math.floor(random() * 10);
}

function randomJson(random: () => number, depth: number): unknown {
  const roll = random();
  if (depth < 4 && roll < 0.25) {
    const out: Record<string, unknown> = {};
    const size = Math.floor(random() * 5);
    for (let i = 0; i < size; i++) {
      // Cut by code points: half of a surrogate pair is no string a manifest can hold (toYaml refuses it).
      const key = Array.from(randomString(random)).slice(0, 12).join('');
      if (key !== '__proto__') out[key] = randomJson(random, depth + 1);
    }
    return out;
  }
  if (depth < 4 && roll < 0.45) return Array.from({ length: Math.floor(random() * 5) }, () => randomJson(random, depth + 1));
  if (roll < 0.5) return null;
  if (roll < 0.55) return random() < 0.5;
  if (roll < 0.7) return randomNumber(random);
  return randomString(random);
}
