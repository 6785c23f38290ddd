import { parseDocument, type YAMLMap } from 'yaml';
import { describe, expect, test } from 'vitest';
import { applyPatches, scalarSource, YamlText } from '../../src/sites/edit-text.js';

describe('applyPatches', () => {
  test('applies replacements and insertions in one pass, in any order given', () => {
    expect(applyPatches('abcdef', [{ start: 4, end: 5, text: 'E' }, { start: 0, end: 0, text: '>' }, { start: 1, end: 3, text: '' }])).toBe('>adEf');
  });

  test('refuses overlapping patches instead of guessing', () => {
    expect(() => applyPatches('abcdef', [{ start: 0, end: 3, text: 'x' }, { start: 2, end: 4, text: 'y' }])).toThrow(/overlapping/);
  });
});

describe('scalarSource', () => {
  test('plain for simple words, quoted when YAML would read something else', () => {
    expect(scalarSource('green')).toBe('green');
    expect(scalarSource('shop.example.com')).toBe('shop.example.com');
    for (const v of ['true', 'null', '123', '1e5', '0x1f', '~', 'a: b', '# x', 'a, b', '[x]', '-x', ' x', '']) {
      const src = scalarSource(v);
      expect(src).not.toBe(v);
      expect(parseDocument(`k: ${src}`).get('k')).toBe(v);
    }
  });

  test('keeps the quoting style of the value it replaces', () => {
    expect(scalarSource('abc', 'QUOTE_DOUBLE')).toBe('"abc"');
    expect(scalarSource("it's", 'QUOTE_SINGLE')).toBe("'it''s'");
  });
});

describe('YamlText', () => {
  test('nothing patched gives back the very same text', () => {
    const text = 'a:   1   # one\nb: [x]\n';
    expect(new YamlText(text, parseDocument(text)).result()).toBe(text);
  });

  test('a replacement longer than the gap before a comment leaves one space', () => {
    const text = 'k: ab #c\n';
    const doc = parseDocument(text);
    const edit = new YamlText(text, doc);
    edit.setScalar((doc.contents as YAMLMap).items[0].value as never, 'abcdef');
    expect(edit.result()).toBe('k: abcdef #c\n');
  });

  test('inserting after the last line of a file without a final newline', () => {
    const text = 'k: v';
    const doc = parseDocument(text);
    const map = doc.contents as YAMLMap;
    const edit = new YamlText(text, doc);
    edit.insertPairAfter(map, edit.pair(map, 'k')!, 'n', 'w');
    expect(edit.result()).toBe('k: v\nn: w\n');
  });
});
