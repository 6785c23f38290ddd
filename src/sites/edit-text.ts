import { isMap, isPair, isScalar, Scalar, stringify, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';

/**
 * Minimal, byte-exact edits of a YAML text, located with the `yaml` package's
 * Document API.
 *
 * Why not `doc.toString()`: re-stringifying a Document re-flows the parts that
 * were not touched (the spaces before a trailing comment, long lines, flow
 * collection spacing), so a one-line change would show up as a noisy diff in
 * review. Instead the Document tells us where each node is (its `range`), and
 * only those bytes are replaced; everything else is copied as it was.
 */

/** Replace `text[start, end)` with `text`; an insertion has `start === end`. */
export interface TextPatch {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A layout this module will not edit automatically (the caller turns it into a located problem). */
export class UneditableLayoutError extends Error {
  constructor(
    message: string,
    /** Offset in the text where the layout was found. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'UneditableLayoutError';
  }
}

/** Applies non-overlapping patches in one pass, so many edits cost one copy of the text. */
export function applyPatches(text: string, patches: readonly TextPatch[]): string {
  const sorted = [...patches].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: string[] = [];
  let at = 0;
  for (const p of sorted) {
    if (p.start < at) throw new Error(`overlapping edits at offset ${p.start}`);
    out.push(text.slice(at, p.start), p.text);
    at = p.end;
  }
  out.push(text.slice(at));
  return out.join('');
}

/** A parsed YAML text and the patches that edit it. */
export class YamlText {
  private readonly patches: TextPatch[] = [];
  /** Line ending of the file, so inserted lines match (CRLF files stay CRLF). */
  readonly eol: string;

  constructor(
    readonly text: string,
    readonly doc: Document.Parsed,
  ) {
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  /** The edited text (the original when nothing was patched). */
  result(): string {
    return this.patches.length === 0 ? this.text : applyPatches(this.text, this.patches);
  }

  pair(map: YAMLMap, key: string): Pair<Scalar, Node> | undefined {
    return map.items.find((p): p is Pair<Scalar, Node> => isPair(p) && isScalar(p.key) && p.key.value === key);
  }

  /** Replaces a scalar value, keeping its quoting style. */
  setScalar(node: Node, value: string): void {
    const [start, end] = rangeOf(node);
    const text = scalarSource(value, isScalar(node) ? node.type : undefined);
    // Keep a trailing comment in its column (`selector: green   # …` → `selector: blue    # …`).
    const gap = /^[ \t]*/.exec(this.text.slice(end, end + 200))?.[0] ?? '';
    if (gap.length > 0 && !gap.includes('\t') && this.text[end + gap.length] === '#') {
      const spaces = Math.max(1, gap.length + (end - start) - text.length);
      this.patches.push({ start, end: end + gap.length, text: text + ' '.repeat(spaces) });
      return;
    }
    this.patches.push({ start, end, text });
  }

  /** Replaces a node with YAML source written by the caller (a number, a flow map). */
  setSource(node: Node, source: string): void {
    const [start, end] = rangeOf(node);
    this.patches.push({ start, end, text: source });
  }

  /** Adds `key: value` right after `after` (on its own line in a block map, after it in a flow map). */
  insertPairAfter(map: YAMLMap, after: Pair<Scalar, Node>, key: string, value: string): void {
    this.insertSourceAfter(map, after, key, scalarSource(value));
  }

  /** `key: source` in `map`: the value replaced when the key is there, else added after the map's last pair. */
  setOrAddSource(map: YAMLMap, key: string, source: string): void {
    const existing = this.pair(map, key);
    if (existing?.value) this.setSource(existing.value, source);
    else this.insertSourceAfter(map, map.items[map.items.length - 1] as Pair<Scalar, Node>, key, source);
  }

  /** The same with the value as YAML source written by the caller (a number, a flow map). */
  insertSourceAfter(map: YAMLMap, after: Pair<Scalar, Node>, key: string, source: string): void {
    const entry = `${key}: ${source}`;
    const [, valueEnd] = rangeOf(after.value ?? after.key);
    if (map.flow) {
      this.patches.push({ start: valueEnd, end: valueEnd, text: `, ${entry}` });
      return;
    }
    const keyStart = rangeOf(after.key)[0];
    const indent = ' '.repeat(keyStart - lineStart(this.text, keyStart));
    const at = lineEnd(this.text, valueEnd - 1);
    const newline = at === this.text.length && !this.text.endsWith('\n') ? this.eol : '';
    this.patches.push({ start: at, end: at, text: `${newline}${indent}${entry}${this.eol}` });
  }

  /**
   * Removes `pair` when it sits on a line of its own in a block map (with any
   * comment on that line). Returns false, changing nothing, when it does not
   * (flow style, or the first key of a `- key: value` sequence item).
   */
  removePairLine(map: YAMLMap, pair: Pair<Scalar, Node>): boolean {
    if (map.flow || map.items.length < 2) return false;
    const keyStart = rangeOf(pair.key)[0];
    const start = lineStart(this.text, keyStart);
    if (this.text.slice(start, keyStart).trim() !== '') return false;
    const valueEnd = rangeOf(pair.value ?? pair.key)[1];
    const end = lineEnd(this.text, valueEnd - 1);
    const rest = this.text.slice(valueEnd, end).trim();
    if (rest !== '' && !rest.startsWith('#')) return false;
    this.patches.push({ start, end, text: '' });
    return true;
  }

  /**
   * Appends an item to a sequence. `block` is the item as block YAML lines
   * without indentation ("- id: x", "  name: …"), `flow` the same item in flow
   * style, used when the sequence is written in flow style.
   */
  appendItem(seq: YAMLSeq, block: readonly string[], flow: string): void {
    const [seqStart, seqEnd] = rangeOf(seq);
    if (seq.flow && seq.items.length > 0) {
      const end = rangeOf(seq.items[seq.items.length - 1] as Node)[1];
      this.patches.push({ start: end, end, text: `, ${flow}` });
      return;
    }
    if (seq.flow) {
      // `sites: []` becomes a block sequence under its key.
      const indent = ' '.repeat(this.keyColumn(seqStart) + 2);
      let start = seqStart;
      while (start > 0 && this.text[start - 1] === ' ') start--;
      this.patches.push({ start, end: seqEnd, text: `${this.eol}${block.map((l) => indent + l).join(this.eol)}` });
      return;
    }
    const items = seq.items as Node[];
    const last = this.blockItemSpan(items, items.length - 1);
    const indent = ' '.repeat(last.dashColumn);
    // Keep the file's rhythm: a blank line between entries if the last two are separated by one.
    const spaced = items.length > 1 && /\n[ \t]*\r?\n/.test(this.text.slice(this.blockItemSpan(items, items.length - 2).end - 1, last.start + 1));
    const newline = last.end === this.text.length && !this.text.endsWith('\n') ? this.eol : '';
    const text = `${newline}${spaced ? this.eol : ''}${block.map((l) => indent + l).join(this.eol)}${this.eol}`;
    this.patches.push({ start: last.end, end: last.end, text });
  }

  /**
   * Removes the items at `indexes` from a sequence, each with the comment lines
   * glued to it and one blank separator, so the remaining entries keep their
   * spacing. Removing every item leaves `[]`.
   */
  removeItems(seq: YAMLSeq, indexes: ReadonlySet<number>, parent: Pair<Scalar, Node>): void {
    const items = seq.items as Node[];
    if (indexes.size === 0) return;
    if (indexes.size === items.length) {
      const keyEnd = rangeOf(parent.key)[1];
      const seqEnd = rangeOf(seq)[1];
      const newline = !seq.flow && this.text.slice(keyEnd, seqEnd).endsWith('\n') ? this.eol : '';
      this.patches.push({ start: keyEnd, end: seqEnd, text: `: []${newline}` });
      return;
    }
    if (seq.flow) {
      const kept = items.filter((_, i) => !indexes.has(i)).map((n) => this.text.slice(rangeOf(n)[0], rangeOf(n)[1]));
      const [start, end] = rangeOf(seq);
      this.patches.push({ start, end, text: `[${kept.join(', ')}]` });
      return;
    }
    const spans: Array<{ start: number; end: number }> = [];
    for (const i of [...indexes].sort((a, b) => a - b)) {
      const span = this.blockItemSpan(items, i);
      let { start, end } = span;
      const after = skipBlankLines(this.text, end);
      if (i < items.length - 1) end = after;
      else start = backOverBlankLines(this.text, start);
      const prev = spans[spans.length - 1];
      if (prev && start <= prev.end) prev.end = Math.max(prev.end, end);
      else spans.push({ start, end });
    }
    for (const s of spans) this.patches.push({ ...s, text: '' });
  }

  /**
   * The lines of a block sequence item: from its `-` line (and the comment
   * lines right above it at the same indentation) to the end of its last line
   * (and the comment lines right below it, indented inside the item).
   */
  private blockItemSpan(items: readonly Node[], i: number): { start: number; end: number; dashColumn: number } {
    const [contentStart, contentEnd] = rangeOf(items[i]);
    let dash = contentStart - 1;
    while (dash >= 0 && /\s/.test(this.text[dash])) dash--;
    if (this.text[dash] !== '-') throw new UneditableLayoutError('this sequence item has no "-" of its own', contentStart);
    const lineOfDash = lineStart(this.text, dash);
    if (this.text.slice(lineOfDash, dash).trim() !== '') throw new UneditableLayoutError('nested sequence items on one line', contentStart);
    const dashColumn = dash - lineOfDash;

    let start = lineOfDash;
    while (start > 0) {
      const above = lineStart(this.text, start - 1);
      const line = this.text.slice(above, start);
      if (!line.trimStart().startsWith('#') || indentation(line) !== dashColumn) break;
      start = above;
    }
    // A block item's range may stop mid-line (before a trailing comment) or just after its newline.
    let end = lineEnd(this.text, Math.max(contentStart, contentEnd - 1));
    const next = i + 1 < items.length ? rangeOf(items[i + 1])[0] : Infinity;
    while (end < this.text.length && end < next) {
      const below = lineEnd(this.text, end);
      const line = this.text.slice(end, below);
      if (!line.trimStart().startsWith('#') || indentation(line) <= dashColumn) break;
      end = below;
    }
    return { start, end, dashColumn };
  }

  /** The column of the mapping key whose value starts at `offset` (for `key: []`). */
  private keyColumn(offset: number): number {
    const start = lineStart(this.text, offset);
    return indentation(this.text.slice(start, offset));
  }
}

/** The source text of a scalar: same quoting as `like` when given, else plain unless YAML would read it as something else. */
export function scalarSource(value: string, like?: Scalar['type']): string {
  if (like === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`;
  // Plain only for simple words that YAML reads back as the same string (not `true`, `1e5`, …) and
  // that are safe inside a flow collection; anything else is double-quoted (JSON strings are valid YAML).
  const plain = like !== Scalar.QUOTE_DOUBLE && /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(value) && readsBackAsItself(value);
  return plain ? value : JSON.stringify(value);
}

/** Memoized: a bulk edit writes the same few values (colors) thousands of times, and `stringify` builds a Document per call. */
const readsBack = new Map<string, boolean>();
function readsBackAsItself(value: string): boolean {
  let known = readsBack.get(value);
  if (known === undefined) {
    known = stringify(value).trimEnd() === value;
    if (readsBack.size < 10_000) readsBack.set(value, known);
  }
  return known;
}

export function rangeOf(node: Node): [number, number] {
  if (!node.range) throw new Error('a YAML node without a source range (was it created, not parsed?)');
  return [node.range[0], node.range[1]];
}

export function isBlockMap(node: unknown): node is YAMLMap {
  return isMap(node) && !node.flow;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

/** The offset just after the newline of the line holding `pos` (or the end of the text). */
function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i === -1 ? text.length : i + 1;
}

function indentation(line: string): number {
  return line.length - line.trimStart().length;
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function skipBlankLines(text: string, pos: number): number {
  while (pos < text.length) {
    const end = lineEnd(text, pos);
    if (!isBlank(text.slice(pos, end))) break;
    pos = end;
  }
  return pos;
}

function backOverBlankLines(text: string, pos: number): number {
  while (pos > 0) {
    const start = lineStart(text, pos - 1);
    if (!isBlank(text.slice(start, pos))) break;
    pos = start;
  }
  return pos;
}
