import { Alias, Document, isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type Scalar, type YAMLMap } from 'yaml';
import type { Problem } from './problems.js';
import { formatPath, quote } from './problems.js';

/** More aliases than a hand-written file needs; the yaml package resolves each one by a scan of the document. */
export const MAX_ALIASES = 100;
/** How many values aliases may add to a document once expanded: far beyond any real use, far below an alias bomb. */
export const MAX_ALIAS_EXPANSION = 100_000;

/** The tags of YAML's core schema, which are all the inputs need; anything else (`!!binary`, `!!js/function`, `!mine`) is refused. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'seq', 'map'].map((t) => `tag:yaml.org,2002:${t}`));
/** A surrogate code unit without its pair: no UTF-8 file or UTF-8 manifest can hold it. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A parsed input file that remembers where every value came from, so that a
 * problem found in the plain data can be reported at its line and column.
 */
export class Source {
  private readonly lines = new LineCounter();
  private parsed: Document.Parsed | undefined;

  constructor(
    /** The file name as the user gave it; used in every message. */
    readonly file: string,
    readonly text: string,
  ) {}

  /**
   * The whole document, parsed when first needed: a large, clean sites list
   * is read item by item instead (readByItems) and never needs it.
   */
  get doc(): Document.Parsed {
    // The yaml package's own duplicate-key check compares every key with every other (minutes on a
    // 50,000-key mapping) and does not name the key; structureProblems() does it in one pass.
    return (this.parsed ??= parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: false, prettyErrors: false }));
  }

  private items: { value: unknown } | null | undefined;

  /** The plain data read item by item, when the file is a large sites list whose every item is clean; null otherwise. */
  private byItems(): { value: unknown } | null {
    if (this.items === undefined) this.items = readByItems(this.file, this.text);
    return this.items;
  }

  private syntax: Problem[] | undefined;

  /**
   * YAML syntax errors, duplicate keys, and what would make the plain data
   * wrong or unsafe to compute (aliases, tags, broken strings); when there are
   * any, the contents are not trusted.
   */
  syntaxProblems(): Problem[] {
    return (this.syntax ??= this.byItems() ? [] : this.findSyntaxProblems());
  }

  isEmpty(): boolean {
    if (this.byItems()) return false;
    return this.doc.errors.length === 0 && (this.doc.contents === null || (isScalar(this.doc.contents) && this.doc.contents.value === null));
  }

  private js: { value: unknown } | undefined;

  /** The plain data of the document, converted once: callers only read it, after syntaxProblems() found none. */
  toJS(): unknown {
    return (this.js ??= this.byItems() ?? { value: this.doc.toJS({ maxAliasCount: MAX_ALIASES }) }).value;
  }

  /** A problem at the node the path names, or at its nearest existing ancestor. */
  problem(path: readonly PropertyKey[], message: string, hint?: string): Problem {
    const { line, col } = this.position(path);
    return this.problemAt(line, col, path, message, hint);
  }

  /** A problem at the key (not the value) of `path`'s last element, e.g. an unknown key. */
  keyProblem(path: readonly PropertyKey[], message: string, hint?: string): Problem {
    const parent = this.nodeAt(path.slice(0, -1));
    const last = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isNode(pair.key) && pair.key.range) {
        const { line, col } = this.lines.linePos(pair.key.range[0]);
        return this.problemAt(line, col, path, message, hint);
      }
    }
    return this.problem(path, message, hint);
  }

  /** Whether the document has a value at `path` (a missing field has none). */
  has(path: readonly PropertyKey[]): boolean {
    return this.nodeAt(path) !== undefined;
  }

  private findSyntaxProblems(): Problem[] {
    const parsed = [...this.doc.errors, ...this.doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED')].map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      return this.problemAt(line, col, [], `YAML syntax error: ${e.message.split('\n')[0]}`, 'check indentation and quoting around this position');
    });
    const structure = this.structureProblems();
    if (parsed.length > 0 || structure.length > 0) return [...parsed, ...structure];
    return this.conversionProblems();
  }

  /**
   * One walk over the document for what the parser lets through: duplicate
   * keys, keys that are not strings, unknown tags, strings that are not valid
   * Unicode, and aliases that are undefined, circular or expand too far.
   */
  private structureProblems(): Problem[] {
    const problems: Problem[] = [];
    const anchors = new Map<string, Node>();
    const targets = new Map<Alias, Node>();
    visit(this.doc, (_key, node, path) => {
      if (!isNode(node)) return;
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        problems.push(this.nodeProblem(node, `unknown YAML tag ${showTag(node.tag)}`, 'remove the tag: the inputs hold only strings, numbers, booleans, lists and mappings'));
      } else if (isScalar(node)) {
        problems.push(...this.scalarProblems(node));
      }
      if (isMap(node)) problems.push(...this.keyProblems(node));
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target === undefined) {
          problems.push(this.nodeProblem(node, `undefined alias *${node.source}`, `define the anchor &${node.source} before this alias, or write the value out`));
        } else if (path.includes(target)) {
          problems.push(this.nodeProblem(node, `alias *${node.source} is inside its own anchor`, 'an alias must not contain itself; write the value out'));
        } else {
          targets.set(node, target);
          if (targets.size === MAX_ALIASES + 1) {
            problems.push(this.nodeProblem(node, `more than ${MAX_ALIASES} aliases in one file`, 'write the values out instead of aliasing them'));
          }
        }
      }
      if (node.anchor) anchors.set(node.anchor, node);
    });
    if (problems.length === 0) problems.push(...this.expansionProblems(targets));
    return problems;
  }

  private scalarProblems(node: Scalar): Problem[] {
    const { value } = node;
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      return [this.nodeProblem(node, `${quote(value)} is not valid Unicode: it holds half of a UTF-16 surrogate pair`, 'remove the \\ud800-\\udfff escape, or write the character itself')];
    }
    if (value !== null && typeof value === 'object') {
      return [this.nodeProblem(node, `is read as a ${value.constructor?.name ?? 'object'}, not as text`, 'quote it to make it a string')];
    }
    return [];
  }

  /** Duplicate keys, once per key however often it repeats, named, with where it first appeared. */
  private keyProblems(map: YAMLMap): Problem[] {
    const problems: Problem[] = [];
    const seen = new Map<string, { first: Node; repeat?: Node; count: number }>();
    for (const { key } of map.items) {
      if (key !== null && !isScalar(key)) {
        problems.push(this.nodeProblem(key as Node, 'a key must be a plain string, not a list, mapping or alias', 'write the key as text'));
        continue;
      }
      // The same string the plain data would use: `1` and "1" are one key there.
      const name = key === null || key.value === null ? '' : String(key.value);
      // Plain objects and zod treat this key specially (zod drops it silently); no input has it.
      if (name === '__proto__') problems.push(this.nodeProblem(key as Node, 'the key "__proto__" is not allowed', 'remove it'));
      const entry = seen.get(name);
      if (entry === undefined) seen.set(name, { first: key as Node, count: 1 });
      else (entry.repeat ??= key as Node, entry.count++);
    }
    for (const [name, { first, repeat, count }] of seen) {
      if (repeat === undefined) continue;
      const times = count > 2 ? `, ${count} times` : '';
      const firstLine = first?.range ? ` (first on line ${this.lines.linePos(first.range[0]).line}${times})` : '';
      problems.push(this.nodeProblem(repeat, `duplicate key ${quote(name)}${firstLine}`, 'each key may appear once; merge the entries'));
    }
    return problems;
  }

  /**
   * An alias bomb ("billion laughs"): a few aliases of aliases that expand to
   * millions of values, which every reader of the plain data would walk.
   * Counted without expanding anything: each collection's expanded size once.
   */
  private expansionProblems(targets: ReadonlyMap<Alias, Node>): Problem[] {
    const sizes = new Map<Node, number>();
    const size = (node: unknown): number => {
      if (isAlias(node)) return size(targets.get(node));
      if (!isCollection(node)) return 1;
      let n = sizes.get(node);
      if (n === undefined) {
        n = 1;
        for (const item of node.items) n += isPair(item) ? size(item.key) + size(item.value) : size(item);
        sizes.set(node, n);
      }
      return n;
    };
    let added = 0;
    let largest: [Alias, number] | undefined;
    for (const [alias, target] of targets) {
      const n = size(target);
      added += n - 1;
      if (!largest || n > largest[1]) largest = [alias, n];
    }
    if (!largest || added <= MAX_ALIAS_EXPANSION) return [];
    const [alias, n] = largest;
    return [
      this.nodeProblem(alias, `aliases expand this file by more than ${MAX_ALIAS_EXPANSION.toLocaleString('en')} values (this one alone to ${n.toLocaleString('en')})`, 'an alias bomb? write the values out'),
    ];
  }

  /** The plain data is made once here, so that toJS() cannot fail later; a failure is located at the first alias. */
  private conversionProblems(): Problem[] {
    try {
      this.toJS();
      return [];
    } catch (error) {
      let first: Node | undefined;
      visit(this.doc, { Alias: (_key, node) => ((first = node), visit.BREAK) });
      const message = `the document cannot be read: ${(error as Error).message}`;
      return [first ? this.nodeProblem(first, message, 'write the aliased values out') : this.problemAt(1, 1, [], message)];
    }
  }

  private nodeProblem(node: Node, message: string, hint?: string): Problem {
    const { line, col } = node.range ? this.lines.linePos(node.range[0]) : { line: 1, col: 1 };
    return this.problemAt(line, col, [], message, hint);
  }

  private position(path: readonly PropertyKey[]): { line: number; col: number } {
    for (let n = path.length; n >= 0; n--) {
      const node = this.nodeAt(path.slice(0, n));
      if (node?.range) return this.lines.linePos(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  private nodeAt(path: readonly PropertyKey[]): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
        node = pair?.value;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
      } else {
        return undefined;
      }
    }
    return isNode(node) ? node : undefined;
  }

  private problemAt(line: number, column: number, path: readonly PropertyKey[], message: string, hint?: string): Problem {
    return { file: this.file, line, column, path: formatPath(path), message, hint };
  }
}

/**
 * Above this size, a file that is one block list under `sites:` is read item
 * by item: the yaml package needs about 1 GB to hold the document of 100,000
 * sites at once, and each item alone is small.
 */
export const BY_ITEMS_MIN_BYTES = 1_000_000;

const HEAD = /^\uFEFF?(?:[ \t]*(?:#[^\r\n]*)?\r?\n)*sites:[ \t]*(?:#[^\r\n]*)?\r?\n/;

/**
 * `{ sites: [...] }` of a large sites file, each list item parsed and checked
 * on its own as a document of its own (the same checks as the whole file),
 * or null when the file is small, not that shape, or any item has a problem
 * or an anchor or alias (which may reach across items): the caller then
 * parses the whole document, which reports every problem at its line.
 */
function readByItems(file: string, text: string): { value: unknown } | null {
  if (text.length < BY_ITEMS_MIN_BYTES) return null;
  const head = HEAD.exec(text);
  if (!head) return null;
  const body = text.slice(head[0].length);
  // The list's indentation is that of its first item; anything else before it must be blank or a comment.
  const first = /^( *)-(?: |\r?$)/m.exec(body);
  if (!first || !/^(?:[ \t]*(?:#[^\r\n]*)?\r?\n)*$/.test(body.slice(0, first.index))) return null;
  const starts: number[] = [];
  const item = new RegExp(`^${first[1]}-(?: |\\r?$)`, 'gm');
  for (let m = item.exec(body); m; m = item.exec(body)) starts.push(m.index);
  const sites: unknown[] = [];
  for (let i = 0; i < starts.length; i++) {
    const part = new Source(file, body.slice(starts[i], starts[i + 1] ?? body.length));
    if (part.syntaxProblems().length > 0 || hasAnchorOrAlias(part.doc)) return null;
    const value = part.toJS();
    if (!Array.isArray(value) || value.length !== 1) return null;
    sites.push(value[0]);
  }
  return { value: { sites } };
}

function hasAnchorOrAlias(doc: Document.Parsed): boolean {
  let found = false;
  visit(doc, (_key, node) => {
    if (isAlias(node) || (isNode(node) && node.anchor)) return ((found = true), visit.BREAK);
  });
  return found;
}

/** A tag as the user wrote it: `!!binary` rather than `tag:yaml.org,2002:binary`. */
function showTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}
