// Every object Aviary emits must be accepted by a Kubernetes 1.27 API server
// and by the CRDs it uses (Argo CD, External Secrets).
//
// The schemas are the ones kubernetes-models 4.5.1 ships (generated from
// Kubernetes v1.27.1's OpenAPI), @kubernetes-models/argo-cd 2.7.2 and
// @kubernetes-models/external-secrets 0.5.2, @kubernetes-models/gateway-api 0.5.1 (CRD schemas): `new Model(obj).validate()`
// throws on an object its JSON schema rejects. Those schemas do not forbid
// unknown fields (the API server does, with strict field validation, which
// kubectl and Argo CD use), nor check names, so this file checks both as well.
import { Application, ApplicationSet, AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { ExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { renderFleet } from '../../src/charts/render.js';
import type { Fleet } from '../../src/sites/types.js';
import { buildFleet, canaryDoc, exampleFleet, fullFleet, siteEntry } from '../support/fixtures.js';
import { parseManifests, type K8sObject } from '../support/manifests.js';

// The models type their input precisely; what is checked here is untyped YAML.
type Model = new (data: any) => { validate(): void };

/** The schema of each `apiVersion kind` Aviary emits; an object of any other kind is a failure. */
const MODELS: Readonly<Record<string, Model>> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'v1 ServiceAccount': ServiceAccount,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1 Job': Job,
  'networking.k8s.io/v1 Ingress': Ingress,
  'gateway.networking.k8s.io/v1 HTTPRoute': HTTPRoute,
  'external-secrets.io/v1beta1 ExternalSecret': ExternalSecret,
  'cert-manager.io/v1 Certificate': Certificate,
  'argoproj.io/v1alpha1 Application': Application,
  'argoproj.io/v1alpha1 ApplicationSet': ApplicationSet,
  'argoproj.io/v1alpha1 AppProject': AppProject,
};

function modelOf(obj: K8sObject): Model | undefined {
  return MODELS[`${String(obj.apiVersion)} ${String(obj.kind)}`];
}

/**
 * External Secrets 0.17+ serves only `external-secrets.io/v1`, a promotion of
 * v1beta1 with the same fields; the 0.5.2 models predate it, so a v1 object
 * is checked against the v1beta1 schema.
 */
function asModelled(obj: K8sObject): K8sObject {
  return obj.apiVersion === 'external-secrets.io/v1' && obj.kind === 'ExternalSecret' ? { ...obj, apiVersion: 'external-secrets.io/v1beta1' } : obj;
}

function schemaError(original: K8sObject): string | undefined {
  const obj = asModelled(original);
  const Model = modelOf(obj);
  if (!Model) return `no schema for ${String(obj.apiVersion)} ${String(obj.kind)}`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Fields whose keys are the user's by design: the CRD marks them
 * `x-kubernetes-preserve-unknown-fields` (a list generator's elements are
 * free-form parameters), so any key is accepted and the probe below cannot
 * tell them from unknown ones.
 */
const FREE_FORM = [/^spec\.generators\.\d+\.(matrix\.generators\.\d+\.)?list\.elements\.\d+\./];

/**
 * Fields the schema does not know. A field the schema knows is type-checked,
 * so replacing its value with something no JSON schema type accepts (a symbol)
 * makes validation fail; if validation still passes, the schema ignored the field.
 */
function unknownFields(obj: K8sObject): string[] {
  const PROBE = Symbol('not a JSON value');
  const unknown: string[] = [];
  for (const path of fieldPaths(obj, [])) {
    if (FREE_FORM.some((pattern) => pattern.test(path.join('.')))) continue;
    const copy = structuredClone(obj);
    const parent = path.slice(0, -1).reduce<K8sObject>((node, key) => node[key], copy);
    parent[path[path.length - 1]] = PROBE;
    if (schemaError(copy) === undefined) unknown.push(path.join('.'));
  }
  return unknown;
}

function fieldPaths(node: unknown, prefix: (string | number)[]): (string | number)[][] {
  if (Array.isArray(node)) return node.flatMap((item, i) => fieldPaths(item, [...prefix, i]));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => [[...prefix, key], ...fieldPaths(value, [...prefix, key])]);
}

// What the API server checks beyond the OpenAPI schema (k8s.io/apimachinery validation).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const subdomain = (s: string) => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
const label = (s: string) => s.length <= 63 && DNS1123_LABEL.test(s);

function qualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  return (prefix === undefined || subdomain(prefix)) && name.length <= 63 && QUALIFIED_NAME.test(name);
}

function metadataProblems(meta: K8sObject | undefined, where: string, withName: boolean): string[] {
  const problems: string[] = [];
  if (!meta) return [`${where}: no metadata`];
  if (withName && !(typeof meta.name === 'string' && subdomain(meta.name))) problems.push(`${where}.name ${JSON.stringify(meta.name)} is not a DNS-1123 subdomain`);
  if (meta.namespace !== undefined && !label(meta.namespace)) problems.push(`${where}.namespace ${JSON.stringify(meta.namespace)} is not a DNS-1123 label`);
  for (const [key, value] of Object.entries((meta.labels ?? {}) as Record<string, unknown>)) {
    if (!qualifiedKey(key)) problems.push(`${where}.labels: bad key ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`${where}.labels.${key}: bad value ${JSON.stringify(value)}`);
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    if (!qualifiedKey(key)) problems.push(`${where}.annotations: bad key ${JSON.stringify(key)}`);
  }
  return problems;
}

function podProblems(pod: K8sObject, where: string): string[] {
  const problems = metadataProblems(pod.metadata ?? {}, `${where}.metadata`, false);
  for (const c of pod.spec.containers as K8sObject[]) {
    if (!label(c.name)) problems.push(`${where}: container name ${JSON.stringify(c.name)} is not a DNS-1123 label`);
    if (!c.image) problems.push(`${where}: container ${c.name} has no image`);
    for (const p of (c.ports ?? []) as K8sObject[]) {
      if (p.name !== undefined && !(p.name.length <= 15 && PORT_NAME.test(p.name))) problems.push(`${where}: port name ${JSON.stringify(p.name)}`);
    }
    for (const from of (c.envFrom ?? []) as K8sObject[]) {
      if (from.secretRef && !subdomain(from.secretRef.name)) problems.push(`${where}: secret name ${JSON.stringify(from.secretRef.name)}`);
    }
  }
  return problems;
}

/** The API server's checks on names, labels and references that the JSON schemas leave out. */
function apiServerProblems(obj: K8sObject): string[] {
  const problems = metadataProblems(obj.metadata, 'metadata', true);
  const name: string = obj.metadata?.name ?? '';
  switch (obj.kind) {
    case 'Service':
      if (!(name.length <= 63 && DNS1035_LABEL.test(name))) problems.push(`Service name ${JSON.stringify(name)} is not a DNS-1035 label`);
      for (const p of obj.spec.ports as K8sObject[]) if (!PORT_NAME.test(p.name)) problems.push(`port name ${JSON.stringify(p.name)}`);
      break;
    case 'Job':
      // The Job's name is copied into its pods' job-name label.
      if (name.length > 63) problems.push(`Job name ${JSON.stringify(name)} is longer than a label value (63)`);
      problems.push(...podProblems(obj.spec.template, 'spec.template'));
      break;
    case 'Deployment':
      problems.push(...podProblems(obj.spec.template, 'spec.template'));
      for (const [k, v] of Object.entries(obj.spec.selector.matchLabels as Record<string, string>)) {
        if (obj.spec.template.metadata.labels?.[k] !== v) problems.push(`selector ${k}=${v} does not match the pod template`);
      }
      break;
    case 'Ingress':
      for (const rule of obj.spec.rules as K8sObject[]) {
        if (!subdomain(rule.host)) problems.push(`Ingress host ${JSON.stringify(rule.host)}`);
        for (const p of rule.http.paths as K8sObject[]) {
          const service = p.backend.service;
          if (!DNS1035_LABEL.test(service.name)) problems.push(`backend Service name ${JSON.stringify(service.name)}`);
          if (!PORT_NAME.test(service.port.name)) problems.push(`backend port name ${JSON.stringify(service.port.name)}`);
        }
      }
      for (const tls of (obj.spec.tls ?? []) as K8sObject[]) if (!subdomain(tls.secretName)) problems.push(`TLS secret ${JSON.stringify(tls.secretName)}`);
      break;
    case 'ExternalSecret':
      if (!subdomain(obj.spec.target.name)) problems.push(`target Secret name ${JSON.stringify(obj.spec.target.name)}`);
      break;
  }
  return problems;
}

/** Everything wrong with one emitted object; empty when a 1.27 API server would accept it. */
function problemsOf(obj: K8sObject): string[] {
  const schema = schemaError(obj);
  if (schema) return [schema];
  return [...unknownFields(obj).map((f) => `unknown field ${f}`), ...apiServerProblems(obj)];
}

function emitted(fleet: Fleet): [string, K8sObject][] {
  return renderFleet(fleet).flatMap((file) => parseManifests(file.content).map((obj): [string, K8sObject] => [`${file.path} ${obj.kind} ${obj.metadata?.name}`, obj]));
}

const EXAMPLE = emitted(exampleFleet());
const FULL = emitted(fullFleet());
/** Several clusters, in Argo CD shards: the matrix generator, per-cluster services Applications. */
const CLUSTERED = emitted(
  buildFleet(
    [siteEntry('alpha'), siteEntry('bravo', { cluster: 'us' })],
    canaryDoc({ clusters: [{ name: 'eu', server: 'https://eu.k8s.example.com' }, { name: 'us', server: 'https://us.k8s.example.com' }], argocd: { shards: 4 }, jobs: { queue: 'aviary-jobs' } }),
  ),
);

/** Weighted canaries on ingress-nginx: the canary Ingress of a split, beside one-color sites. */
const WEIGHTED = emitted(buildFleet([siteEntry('alpha', { ingress: { blue: 90, green: 10 } }), siteEntry('bravo')], canaryDoc({ previewDomain: 'preview.example.dev' })));
/** Routing through a Gateway: an HTTPRoute per site (weighted and not) and per preview hostname. */
const GATEWAY = emitted(
  buildFleet(
    [siteEntry('alpha', { ingress: { blue: 25, green: 75 }, hostnames: ['alpha.example.com', 'www.alpha.example.com'] }), siteEntry('bravo', { service: 'green' })],
    canaryDoc({ previewDomain: 'preview.example.dev', routing: { kind: 'gateway', gateway: { name: 'shared', namespace: 'infra', sectionName: 'https' } } }),
  ),
);

describe('every emitted object is valid against the Kubernetes 1.27 and CRD schemas', () => {
  it.each(WEIGHTED)('fleet with a weighted canary on ingress-nginx: %s', (_, obj) => {
    expect(problemsOf(obj)).toEqual([]);
  });

  it.each(GATEWAY)('fleet routed through a Gateway: %s', (_, obj) => {
    expect(problemsOf(obj)).toEqual([]);
  });

  it.each(EXAMPLE)('example fleet: %s', (_, obj) => {
    expect(problemsOf(obj)).toEqual([]);
  });

  it.each(FULL)('fleet with every optional setting: %s', (_, obj) => {
    expect(problemsOf(obj)).toEqual([]);
  });

  it.each(CLUSTERED)('fleet of two clusters in Argo CD shards: %s', (_, obj) => {
    expect(problemsOf(obj)).toEqual([]);
  });

  it('the fleets emit every kind there is a schema for, and nothing else', () => {
    const kinds = new Set([...EXAMPLE, ...FULL, ...GATEWAY].map(([, o]) => asModelled(o)).map((o) => `${o.apiVersion} ${o.kind}`));
    expect([...kinds].sort()).toEqual(Object.keys(MODELS).sort());
  });
});

describe('the schema checks reject broken objects', () => {
  const first = (kind: string): K8sObject => structuredClone([...FULL, ...GATEWAY].find(([, o]) => o.kind === kind)![1]);
  const container = (o: K8sObject) => o.spec.template.spec.containers[0];

  const broken: ReadonlyArray<[string, string, (o: K8sObject) => void, RegExp]> = [
    ['Job with a string backoffLimit', 'Job', (o) => (o.spec.backoffLimit = 'three'), /backoffLimit must be integer/],
    ['Job container without a name', 'Job', (o) => delete container(o).name, /must have required property 'name'|required property name/],
    ['Job with a bad restartPolicy', 'Job', (o) => (o.spec.template.spec.restartPolicy = 'Sometimes'), /restartPolicy/],
    ['Job with a misspelt field', 'Job', (o) => (container(o).imagePulPolicy = 'Always'), /unknown field spec\.template\.spec\.containers\.0\.imagePulPolicy/],
    ['Job named longer than 63', 'Job', (o) => (o.metadata.name = `${'j'.repeat(60)}-install-0123456789`), /longer than a label value/],
    ['Deployment with a bad quantity', 'Deployment', (o) => (container(o).resources.limits.memory = 'lots'), /resources\/limits\/memory/],
    ['Deployment selecting other pods', 'Deployment', (o) => (o.spec.selector.matchLabels.app = 'red'), /does not match the pod template/],
    ['Deployment with an unknown top-level field', 'Deployment', (o) => (o.spec.replica = 2), /unknown field spec\.replica$/],
    ['Service with a string port', 'Service', (o) => (o.spec.ports[0].port = 'http'), /port must be integer/],
    ['Service named with a dot', 'Service', (o) => (o.metadata.name = 'blue.v2'), /DNS-1035/],
    ['ConfigMap with a non-string value', 'ConfigMap', (o) => (o.data.canaryEnv = { selector: 'green' }), /canaryEnv must be string/],
    ['Ingress with a string port number', 'Ingress', (o) => (o.spec.rules[0].http.paths[0].backend.service.port = { number: 'eighty' }), /number must be integer/],
    ['Ingress with an invalid host', 'Ingress', (o) => (o.spec.rules[0].host = 'Shop_Example.com'), /Ingress host/],
    ['Ingress with a label value too long', 'Ingress', (o) => (o.metadata.labels['aviary.io/site'] = 'x'.repeat(64)), /bad value/],
    ['ExternalSecret without a store name', 'ExternalSecret', (o) => delete o.spec.secretStoreRef.name, /required property 'name'|required property name/],
    ['ExternalSecret remoteRef without key', 'ExternalSecret', (o) => delete o.spec.data[0].remoteRef.key, /required property 'key'|required property key/],
    ['ExternalSecret with a misspelt field', 'ExternalSecret', (o) => (o.spec.refreshIntervall = '1h'), /unknown field spec\.refreshIntervall/],
    ['Application without a destination', 'Application', (o) => delete o.spec.destination, /destination/],
    ['Application with a misspelt sync option', 'Application', (o) => (o.spec.syncPolicy.automated.selfheal = true), /unknown field spec\.syncPolicy\.automated\.selfheal/],
    ['ApplicationSet without a template', 'ApplicationSet', (o) => delete o.spec.template, /template/],
    ['an object of a kind without a schema', 'ConfigMap', (o) => (o.kind = 'ConfigMapp'), /no schema for v1 ConfigMapp/],
    ['HTTPRoute with a hostname that is not one', 'HTTPRoute', (o) => (o.spec.hostnames[0] = 'Alpha_Example.com'), /hostnames/],
    ['HTTPRoute with a weight out of range', 'HTTPRoute', (o) => (o.spec.rules[0].backendRefs[0].weight = -1), /weight/],
  ];

  it.each(broken)('%s', (_, kind, breakIt, expected) => {
    const obj = first(kind);
    expect(problemsOf(obj)).toEqual([]);
    breakIt(obj);
    const problems = problemsOf(obj);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(expected);
  });
});
