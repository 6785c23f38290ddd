import { Document, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Problem } from './problems.js';
import { formatPath } from './problems.js';

/**
 * A parsed input file that remembers where every value came from, so that a
 * problem found in the plain data can be reported at its line and column.
 */
export class Source {
  readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    /** The file name as the user gave it; used in every message. */
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
  }

  /** YAML syntax errors and duplicate keys; when there are any, the contents are not trusted. */
  syntaxProblems(): Problem[] {
    return this.doc.errors.map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      const firstLine = e.message.split('\n')[0];
      return e.code === 'DUPLICATE_KEY'
        ? this.problemAt(line, col, [], 'duplicate key in a mapping', 'each key may appear once; merge the two entries')
        : this.problemAt(line, col, [], `YAML syntax error: ${firstLine}`, 'check indentation and quoting around this position');
    });
  }

  isEmpty(): boolean {
    return this.doc.errors.length === 0 && (this.doc.contents === null || (isScalar(this.doc.contents) && this.doc.contents.value === null));
  }

  private js: { value: unknown } | undefined;

  /** The plain data of the document, converted once: callers only read it. */
  toJS(): unknown {
    return (this.js ??= { value: this.doc.toJS({ maxAliasCount: 100 }) }).value;
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
