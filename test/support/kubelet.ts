// What a web pod of a color finds on its disk, made from the generated
// objects as External Secrets Operator and the kubelet would make it:
//
// - External Secrets: each ExternalSecret becomes a Secret (its
//   `target.name`, default its own name) whose keys are its `spec.data[]`
//   entries, each the value of `remoteRef.key` in Secrets Manager, read with
//   the real SDK client (GetSecretValue) from moto: the whole secret string,
//   or with `remoteRef.property` the JSON field it names. A secret that is
//   missing fails the whole ExternalSecret (SecretSyncedError): no Secret.
// - The kubelet: the color's Deployment's container, its volumeMounts and
//   the volumes they name (configMap, secret, projected from configMaps and
//   secrets, with `items`, `optional`, `defaultMode` and `mode`), written
//   under `root` at their mount paths, the way its atomic writer lays them
//   out: `<mount>/..data` points at a timestamped folder, every top-level
//   file is a symlink through `..data`, group-owned by the pod's `fsGroup`
//   (when this process may chown, i.e. runs as root); the container's
//   environment, with values naming a mounted path moved under `root`.
//
// Anything the charts use that this does not emulate (dataFrom, templates,
// other volume kinds, env from Secrets) fails loudly rather than being
// skipped, so a test never passes on a pod that Kubernetes would not make.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

/** A Kubernetes object as parsed from the rendered YAML. */
export type K8sObject = Record<string, any>;

export interface MaterializeOptions {
  /** The objects of every rendered file (services/, sites/, argocd/), in any order. */
  objects: readonly K8sObject[];
  /** The workload whose pod is materialized: a Deployment (`blue-deployment`) or, with `kind: 'Job'`, a site's Job. */
  deployment: string;
  /** @default 'Deployment' */
  kind?: 'Deployment' | 'Job';
  /**
   * `envFrom` is not emulated: `fail` (the default) throws; `skip` leaves it
   * out (a test that passes those values itself, e.g. the install Job's admin).
   */
  envFrom?: 'fail' | 'skip';
  /** The pod's filesystem root: a mount at /etc/aviary/sites is written to `<root>/etc/aviary/sites`. */
  root: string;
  /** Secrets Manager, as External Secrets' ClusterSecretStore reaches it (here: moto). */
  secrets: SecretsManagerClient;
  /**
   * What to do when an ExternalSecret names a secret (or property) that does
   * not exist. `fail` (the default) throws, naming it; `omit` does what
   * External Secrets does: that ExternalSecret makes no Secret at all, so a
   * volume source that is `optional` is left out and one that is not fails.
   */
  missingSecrets?: 'fail' | 'omit';
  /** Container of the pod; default: the first. */
  container?: string;
}

export interface PodFiles {
  root: string;
  /** The container's environment (only literal `value`s), paths under a mount moved under `root`. */
  env: Record<string, string>;
  /** Each mount: its path in the pod and the folder written for it. */
  mounts: { mountPath: string; dir: string }[];
  /** ExternalSecrets whose Secret was not made (only with `missingSecrets: 'omit'`), with why. */
  unsynced: { name: string; reason: string }[];
}

/** Makes (or updates, as the kubelet does: atomically per volume) the files a pod of `deployment` sees. */
export async function materializePod(opts: MaterializeOptions): Promise<PodFiles> {
  const { objects, root } = opts;
  const kind = opts.kind ?? 'Deployment';
  const deployment = only(objects.filter((o) => o.kind === kind && o.metadata?.name === opts.deployment), `${kind} ${opts.deployment}`);
  const namespace: string | undefined = deployment.metadata?.namespace;
  const spec = deployment.spec?.template?.spec;
  const containers: K8sObject[] = spec?.containers ?? [];
  const container = opts.container ? containers.find((c) => c.name === opts.container) : containers[0];
  if (!container) throw new Error(`Deployment ${opts.deployment} has no container ${opts.container ?? ''}`.trim());

  const configMaps = byName(objects, 'ConfigMap', namespace);
  const volumes = ((spec.volumes ?? []) as K8sObject[]).filter((v) => ((container.volumeMounts ?? []) as K8sObject[]).some((m) => m.name === v.name));
  // Only the Secrets the pod mounts: other ExternalSecrets (the Jobs' ones) are not its concern.
  const { secrets, unsynced } = await syncSecrets(objects, namespace, secretNamesOf(volumes), opts);

  const mounts: PodFiles['mounts'] = [];
  for (const mount of (container.volumeMounts ?? []) as K8sObject[]) {
    if (mount.subPath || mount.subPathExpr) throw new Error(`volumeMount ${mount.name}: subPath is not emulated (and never receives updates in a real pod)`);
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name}: no volume of that name in ${opts.deployment}`);
    const files = volumeFiles(volume, configMaps, secrets);
    const dir = join(root, mount.mountPath);
    writeAtomically(dir, files, spec.securityContext?.fsGroup);
    mounts.push({ mountPath: mount.mountPath, dir });
  }

  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as K8sObject[]) {
    if (e.valueFrom) {
      if (e.valueFrom.fieldRef || e.valueFrom.resourceFieldRef) continue; // pod metadata: nothing a test reads
      throw new Error(`env ${e.name}: valueFrom ${Object.keys(e.valueFrom).join(', ')} is not emulated`);
    }
    const value = String(e.value ?? '');
    const under = mounts.find((m) => value === m.mountPath || value.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    env[e.name] = under ? join(root, value) : value;
  }
  if ((container.envFrom ?? []).length > 0 && opts.envFrom !== 'skip') throw new Error(`container ${container.name}: envFrom is not emulated`);
  return { root, env, mounts, unsynced };
}

// ---- External Secrets ----

interface SecretData {
  /** key → bytes */
  data: Map<string, Buffer>;
}

/** The names of the Secrets the volumes mount. */
function secretNamesOf(volumes: readonly K8sObject[]): Set<string> {
  const names = new Set<string>();
  for (const v of volumes) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const source of (v.projected?.sources ?? []) as K8sObject[]) if (source.secret?.name) names.add(source.secret.name);
  }
  return names;
}

/** The Secrets named `wanted`: made by External Secrets from their ExternalSecrets, or given as they are among the objects. */
async function syncSecrets(
  objects: readonly K8sObject[],
  namespace: string | undefined,
  wanted: ReadonlySet<string>,
  opts: MaterializeOptions,
): Promise<{ secrets: Map<string, SecretData>; unsynced: PodFiles['unsynced'] }> {
  const secrets = new Map<string, SecretData>();
  const unsynced: PodFiles['unsynced'] = [];
  for (const s of objects.filter((o) => o.kind === 'Secret' && sameNamespace(o, namespace) && wanted.has(o.metadata?.name))) {
    const data = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(s.data ?? {})) data.set(k, Buffer.from(String(v), 'base64'));
    for (const [k, v] of Object.entries(s.stringData ?? {})) data.set(k, Buffer.from(String(v), 'utf8'));
    secrets.set(s.metadata.name, { data });
  }
  for (const es of objects.filter((o) => o.kind === 'ExternalSecret' && sameNamespace(o, namespace))) {
    const name: string = es.metadata.name;
    const spec = es.spec ?? {};
    if (!wanted.has(spec.target?.name ?? name)) continue;
    if (!String(es.apiVersion).startsWith('external-secrets.io/')) throw new Error(`ExternalSecret ${name}: unexpected apiVersion ${es.apiVersion}`);
    if (spec.dataFrom?.length) throw new Error(`ExternalSecret ${name}: dataFrom is not emulated`);
    if (spec.target?.template) throw new Error(`ExternalSecret ${name}: target.template is not emulated`);
    if (spec.target?.creationPolicy && spec.target.creationPolicy !== 'Owner') throw new Error(`ExternalSecret ${name}: creationPolicy ${spec.target.creationPolicy} is not emulated`);
    const data = new Map<string, Buffer>();
    let failure: string | undefined;
    for (const entry of (spec.data ?? []) as K8sObject[]) {
      if (!/^[-._a-zA-Z0-9]+$/.test(entry.secretKey ?? '')) throw new Error(`ExternalSecret ${name}: invalid secretKey ${JSON.stringify(entry.secretKey)}`);
      const ref = entry.remoteRef ?? {};
      if (ref.version || ref.decodingStrategy && ref.decodingStrategy !== 'None' || ref.conversionStrategy && ref.conversionStrategy !== 'Default') {
        throw new Error(`ExternalSecret ${name}: remoteRef options other than key and property are not emulated`);
      }
      const value = await remoteValue(opts.secrets, ref.key, ref.property);
      if (typeof value === 'string') {
        failure = value;
        break;
      }
      data.set(entry.secretKey, value);
    }
    if (failure) {
      const reason = `ExternalSecret ${name}: SecretSyncedError: ${failure}`;
      if ((opts.missingSecrets ?? 'fail') === 'fail') throw new Error(reason);
      unsynced.push({ name, reason });
      continue;
    }
    const size = [...data.values()].reduce((n, b) => n + b.length, 0);
    if (size > 1024 * 1024) throw new Error(`ExternalSecret ${name}: its Secret would hold ${size} bytes, over Kubernetes' 1 MiB`);
    secrets.set(spec.target?.name ?? name, { data });
  }
  return { secrets, unsynced };
}

/** The value External Secrets would put under a key, or why it cannot (a string). */
async function remoteValue(client: SecretsManagerClient, key: string, property: string | undefined): Promise<Buffer | string> {
  let out;
  try {
    out = await client.send(new GetSecretValueCommand({ SecretId: key }));
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ResourceNotFoundException' || e.name === 'InvalidRequestException') return `could not get secret ${key}: ${e.name}`;
    throw error;
  }
  const raw = out.SecretString !== undefined ? Buffer.from(out.SecretString, 'utf8') : out.SecretBinary ? Buffer.from(out.SecretBinary) : undefined;
  if (raw === undefined) return `secret ${key} has no value`;
  if (property === undefined || property === '') return raw;
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return `secret ${key} is not JSON, so it has no property ${property}`;
  }
  const found = lookup(json, property);
  if (found === undefined) return `key ${property} does not exist in secret ${key}`;
  return Buffer.from(typeof found === 'string' ? found : JSON.stringify(found), 'utf8');
}

/** gjson's plain paths, as External Secrets reads `property`: a key with dots is tried literally first. */
function lookup(value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (Object.hasOwn(o, path)) return o[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const head = path.slice(0, dot);
  return Object.hasOwn(o, head) ? lookup(o[head], path.slice(dot + 1)) : undefined;
}

// ---- volumes ----

interface VolumeFile {
  path: string;
  content: Buffer;
  mode: number;
}

const DEFAULT_MODE = 0o644;

function volumeFiles(volume: K8sObject, configMaps: Map<string, K8sObject>, secrets: Map<string, SecretData>): VolumeFile[] {
  const fromConfigMap = (src: K8sObject, defaultMode: number) => {
    const cm = configMaps.get(src.name);
    if (!cm) return missing(src, 'ConfigMap');
    const data = new Map<string, Buffer>();
    for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(String(v), 'utf8'));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(String(v), 'base64'));
    return project(src, data, defaultMode, `ConfigMap ${src.name}`);
  };
  const fromSecret = (src: K8sObject, name: string, defaultMode: number) => {
    const secret = secrets.get(name);
    if (!secret) return missing({ ...src, name }, 'Secret');
    return project(src, secret.data, defaultMode, `Secret ${name}`);
  };

  if (volume.configMap) return fromConfigMap(volume.configMap, volume.configMap.defaultMode ?? DEFAULT_MODE);
  if (volume.secret) return fromSecret(volume.secret, volume.secret.secretName, volume.secret.defaultMode ?? DEFAULT_MODE);
  if (volume.projected) {
    const defaultMode = volume.projected.defaultMode ?? DEFAULT_MODE;
    const files: VolumeFile[] = [];
    for (const source of (volume.projected.sources ?? []) as K8sObject[]) {
      if (source.configMap) files.push(...fromConfigMap(source.configMap, defaultMode));
      else if (source.secret) files.push(...fromSecret(source.secret, source.secret.name, defaultMode));
      else throw new Error(`volume ${volume.name}: projected source ${Object.keys(source).join(', ')} is not emulated`);
    }
    const seen = new Set<string>();
    for (const f of files) {
      // The kubelet refuses a projected volume whose sources write the same path.
      if (seen.has(f.path)) throw new Error(`volume ${volume.name}: two sources write ${f.path}`);
      seen.add(f.path);
    }
    return files;
  }
  throw new Error(`volume ${volume.name}: ${Object.keys(volume).filter((k) => k !== 'name').join(', ')} is not emulated`);
}

/** A missing ConfigMap or Secret: nothing when the source is optional, else the pod cannot start. */
function missing(src: K8sObject, kind: string): VolumeFile[] {
  if (src.optional === true) return [];
  throw new Error(`${kind} ${src.name} does not exist and its volume source is not optional: the pod would not start`);
}

function project(src: K8sObject, data: Map<string, Buffer>, defaultMode: number, what: string): VolumeFile[] {
  if (!src.items) return [...data].map(([key, content]) => ({ path: key, content, mode: defaultMode }));
  return (src.items as K8sObject[]).flatMap((item) => {
    const content = data.get(item.key);
    if (!content) {
      if (src.optional === true) return [];
      throw new Error(`${what} has no key ${item.key}: the pod would not start`);
    }
    return [{ path: item.path, content, mode: item.mode ?? defaultMode }];
  });
}

// ---- the kubelet's atomic writer ----

/**
 * Writes a volume's files the way the kubelet does: into a new timestamped
 * folder, then `..data` is swapped to it in one rename, and each top-level
 * name is a symlink through `..data`. A reader never sees half an update.
 */
function writeAtomically(dir: string, files: readonly VolumeFile[], fsGroup: number | undefined): void {
  // The kubelet makes a volume's files group-owned by fsGroup; only root may give files away.
  const group = fsGroup !== undefined && process.getuid?.() === 0 ? fsGroup : undefined;
  const own = (path: string, link = false) => {
    if (group === undefined) return;
    if (link) lchownSync(path, 0, group);
    else chownSync(path, 0, group);
  };
  mkdirSync(dir, { recursive: true });
  own(dir);
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${Math.random().toString(36).slice(2, 8)}`;
  const target = join(dir, stamp);
  mkdirSync(target);
  own(target);
  for (const f of files) {
    const rel = posix.normalize(f.path);
    if (rel.startsWith('..') || posix.isAbsolute(rel) || rel.split('/').some((p) => p.startsWith('..'))) throw new Error(`invalid path ${f.path} in a volume`);
    const path = join(target, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    chmodSync(path, f.mode);
    own(path);
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, '..data'));
  } catch {
    // first write
  }
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(stamp, tmpLink);
  own(tmpLink, true);
  renameSync(tmpLink, join(dir, '..data'));

  const top = new Set(files.map((f) => posix.normalize(f.path).split('/')[0]!));
  for (const name of top) {
    const link = join(dir, name);
    try {
      readlinkSync(link);
      continue; // already a link through ..data
    } catch {
      symlinkSync(posix.join('..data', name), link);
      own(link, true);
    }
  }
  // Names no longer in the volume go, then the previous timestamped folder.
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..') || top.has(entry)) continue;
    rmSync(join(dir, entry), { force: true, recursive: true });
  }
  if (previous && previous !== stamp) rmSync(join(dir, previous), { recursive: true, force: true });
}

// ---- helpers ----

function sameNamespace(o: K8sObject, namespace: string | undefined): boolean {
  return (o.metadata?.namespace ?? undefined) === namespace;
}

function byName(objects: readonly K8sObject[], kind: string, namespace: string | undefined): Map<string, K8sObject> {
  const out = new Map<string, K8sObject>();
  for (const o of objects) if (o.kind === kind && sameNamespace(o, namespace)) out.set(o.metadata.name, o);
  return out;
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what} among the objects, found ${items.length}`);
  return items[0]!;
}
