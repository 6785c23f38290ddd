/**
 * A YAML writer for Kubernetes manifests, i.e. plain JSON data: mappings,
 * sequences, strings, numbers, booleans and null. It exists because the
 * general-purpose `yaml` package is ~10× slower than this on a fleet of
 * thousands of sites, and synthesis time is dominated by serialization.
 *
 * Output is block style, keys in the order given (cdk8s already sorted them).
 * A string is written plain only when every YAML 1.1 and 1.2 reader sees a
 * string; anything else is double-quoted using JSON escapes, which YAML's
 * double-quoted style shares. Tests round-trip it through the `yaml` parser.
 */

// Go's YAML 1.1 reader (go-yaml, under sigs.k8s.io/yaml) resolves a plain
// scalar to a number, date, bool or null only when it starts with one of
// `+-.0123456789~` or spells one of the words in RESERVED; everything else
// PLAIN admits is a string there as in YAML 1.2.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@:+=-]*$/;
const RESERVED = /^(y|yes|n|no|true|false|on|off|null)$/i;
// JSON.stringify leaves these raw: DEL, C1 controls, U+FFFE and U+FFFF are
// not printable in YAML (go-yaml refuses the file), and YAML 1.1 readers take
// NEL, LS and PS for line breaks.
const NON_PRINTABLE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;
// JSON.stringify escapes a lone surrogate as \udXXX, which go-yaml refuses
// ("invalid Unicode character escape code"): no manifest can hold one.
const LONE_SURROGATE = /\p{Cs}/u;

export function toYaml(docs: readonly unknown[]): string {
  const out: string[] = [];
  docs.forEach((doc, i) => {
    if (i > 0) out.push('---\n');
    if (isCollection(doc)) write(out, doc, '', '');
    else out.push(inline(doc), '\n');
  });
  return out.join('');
}

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return string(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to a manifest`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  throw new Error(`cannot write a ${typeof value} to a manifest`);
}

function string(s: string): string {
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(':')) return s;
  if (LONE_SURROGATE.test(s)) throw new Error(`cannot write a lone surrogate to a manifest: ${JSON.stringify(s.slice(0, 80))}`);
  return JSON.stringify(s).replace(NON_PRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A non-empty mapping or sequence: written as a block, one entry per line. */
function isCollection(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  for (const key in value) if ((value as Record<string, unknown>)[key] !== undefined) return true;
  return false;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object' && value !== null) return '{}';
  return scalar(value);
}

/**
 * Writes a collection whose entries are indented by `indent`; the first
 * entry's line starts with `first` instead (the `- ` of an enclosing sequence).
 */
function write(out: string[], value: object, indent: string, first: string): void {
  let lead = first || indent;
  const nested = `${indent}  `;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item)) write(out, item, nested, `${lead}- `);
      else out.push(lead, '- ', inline(item), '\n');
      lead = indent;
    }
    return;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (isCollection(item)) {
      out.push(lead, string(key), ':\n');
      write(out, item, nested, '');
    } else {
      out.push(lead, string(key), ': ', inline(item), '\n');
    }
    lead = indent;
  }
}
