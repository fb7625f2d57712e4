import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve('kubernetes-models/package.json'));
const machineryRoot = dirname(require.resolve('@kubernetes-models/apimachinery/package.json', { paths: [modelsRoot] }));

/** `kubectl kustomize <dir>`: every rendered object, or a clear error (kubectl missing, bad kustomization). */
export function renderKustomization(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('kubectl is not installed: the manifests are rendered with `kubectl kustomize` (kubectl >= 1.27, kustomize v5)');
    throw new Error(`kubectl kustomize ${dir} failed: ${err.stderr ?? err.message}`);
  }
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject)
    .filter((o) => o !== null);
}

/** The kubernetes-models module of a kind (apps/v1 StatefulSet -> kubernetes-models/apps/v1/StatefulSet.mjs). */
function modelFile(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return join(modelsRoot, ...(group ? [group] : []), version!, `${kind}.mjs`);
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: object) => Model;

/** Validates an object against the Kubernetes JSON schema of its kind; returns the problems. */
export async function schemaProblems(o: K8sObject): Promise<string[]> {
  const file = modelFile(o.apiVersion, o.kind);
  if (!existsSync(file)) return [`${o.kind} ${o.metadata.name}: no schema for ${o.apiVersion} ${o.kind} (unknown kind or API version)`];
  const mod = (await import(file)) as Record<string, ModelClass>;
  const Model = mod[o.kind];
  if (!Model) return [`${o.kind} ${o.metadata.name}: ${file} exports no ${o.kind}`];
  try {
    new Model(o).validate();
    return [];
  } catch (e) {
    return [`${o.kind} ${o.metadata.name}: ${(e as Error).message}`];
  }
}

// The JSON schemas do not forbid unknown fields, so a misspelt field (`livenesProbe`) would pass.
// The compiled validators name every property they check (`data.<field>`): that is the list of
// known fields, checked here at the levels where hand-written manifests go wrong.
const fieldCache = new Map<string, Set<string>>();
function knownFields(schema: string): Set<string> {
  let fields = fieldCache.get(schema);
  if (!fields) {
    const file = schema.startsWith('IoK8sApimachinery') ? join(machineryRoot, '_schemas', `${schema}.mjs`) : join(modelsRoot, '_schemas', `${schema}.mjs`);
    const code = readFileSync(file, 'utf8');
    fields = new Set([...code.matchAll(/\bdata\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!).filter((f) => f !== 'length'));
    fieldCache.set(schema, fields);
  }
  return fields;
}

function checkFields(value: unknown, schema: string, path: string, out: string[]): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return;
  const known = knownFields(schema);
  for (const key of Object.keys(value)) if (!known.has(key)) out.push(`${path}.${key}: not a field of ${schema.replace(/^IoK8sApi(machineryPkgApis)?/, '')}`);
}

const each = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
type Obj = Record<string, unknown>;

function checkContainer(c: Obj, path: string, out: string[]): void {
  checkFields(c, 'IoK8sApiCoreV1Container', path, out);
  checkFields(c.securityContext, 'IoK8sApiCoreV1SecurityContext', `${path}.securityContext`, out);
  checkFields(c.resources, 'IoK8sApiCoreV1ResourceRequirements', `${path}.resources`, out);
  for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) checkFields(c[p], 'IoK8sApiCoreV1Probe', `${path}.${p}`, out);
  each(c.env).forEach((e, i) => checkFields(e, 'IoK8sApiCoreV1EnvVar', `${path}.env[${i}]`, out));
  each(c.volumeMounts).forEach((m, i) => checkFields(m, 'IoK8sApiCoreV1VolumeMount', `${path}.volumeMounts[${i}]`, out));
}

function checkPodSpec(spec: Obj, path: string, out: string[]): void {
  checkFields(spec, 'IoK8sApiCoreV1PodSpec', path, out);
  checkFields(spec.securityContext, 'IoK8sApiCoreV1PodSecurityContext', `${path}.securityContext`, out);
  for (const list of ['containers', 'initContainers']) each(spec[list]).forEach((c, i) => checkContainer(c as Obj, `${path}.${list}[${i}]`, out));
  each(spec.volumes).forEach((v, i) => checkFields(v, 'IoK8sApiCoreV1Volume', `${path}.volumes[${i}]`, out));
}

const KIND_SCHEMAS: Record<string, { schema: string; spec?: string }> = {
  Deployment: { schema: 'IoK8sApiAppsV1Deployment', spec: 'IoK8sApiAppsV1DeploymentSpec' },
  StatefulSet: { schema: 'IoK8sApiAppsV1StatefulSet', spec: 'IoK8sApiAppsV1StatefulSetSpec' },
  Job: { schema: 'IoK8sApiBatchV1Job', spec: 'IoK8sApiBatchV1JobSpec' },
  Service: { schema: 'IoK8sApiCoreV1Service', spec: 'IoK8sApiCoreV1ServiceSpec' },
  Ingress: { schema: 'IoK8sApiNetworkingV1Ingress', spec: 'IoK8sApiNetworkingV1IngressSpec' },
  NetworkPolicy: { schema: 'IoK8sApiNetworkingV1NetworkPolicy', spec: 'IoK8sApiNetworkingV1NetworkPolicySpec' },
  ConfigMap: { schema: 'IoK8sApiCoreV1ConfigMap' },
  PersistentVolumeClaim: { schema: 'IoK8sApiCoreV1PersistentVolumeClaim', spec: 'IoK8sApiCoreV1PersistentVolumeClaimSpec' },
  PersistentVolume: { schema: 'IoK8sApiCoreV1PersistentVolume', spec: 'IoK8sApiCoreV1PersistentVolumeSpec' },
};

/** Fields the schema does not know, at the object, spec, pod, container and policy-rule levels. */
export function unknownFieldProblems(o: K8sObject): string[] {
  const out: string[] = [];
  const where = `${o.kind} ${o.metadata.name}`;
  const k = KIND_SCHEMAS[o.kind];
  checkFields(o.metadata, 'IoK8sApimachineryPkgApisMetaV1ObjectMeta', `${where} metadata`, out);
  if (!k) return out;
  checkFields(o, k.schema, where, out);
  const spec = o.spec as Obj | undefined;
  if (k.spec && spec) checkFields(spec, k.spec, `${where} spec`, out);
  const template = spec?.template as Obj | undefined;
  if (template) {
    checkFields(template.metadata, 'IoK8sApimachineryPkgApisMetaV1ObjectMeta', `${where} template.metadata`, out);
    if (template.spec) checkPodSpec(template.spec as Obj, `${where} pod`, out);
  }
  if (o.kind === 'NetworkPolicy' && spec) {
    each(spec.ingress).forEach((r, i) => {
      checkFields(r, 'IoK8sApiNetworkingV1NetworkPolicyIngressRule', `${where} ingress[${i}]`, out);
      each((r as Obj).from).forEach((p, j) => checkFields(p, 'IoK8sApiNetworkingV1NetworkPolicyPeer', `${where} ingress[${i}].from[${j}]`, out));
    });
    each(spec.egress).forEach((r, i) => {
      checkFields(r, 'IoK8sApiNetworkingV1NetworkPolicyEgressRule', `${where} egress[${i}]`, out);
      each((r as Obj).to).forEach((p, j) => checkFields(p, 'IoK8sApiNetworkingV1NetworkPolicyPeer', `${where} egress[${i}].to[${j}]`, out));
    });
  }
  if (o.kind === 'Service' && spec) each(spec.ports).forEach((p, i) => checkFields(p, 'IoK8sApiCoreV1ServicePort', `${where} ports[${i}]`, out));
  return out;
}
