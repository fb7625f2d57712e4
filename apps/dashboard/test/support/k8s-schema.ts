import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

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

/**
 * A set of Kubernetes OpenAPI schemas: a kubernetes-models release (installed under `pkg`, an npm
 * alias for all but the first) and the Kubernetes version its schemas were generated from.
 */
export interface SchemaSet {
  kubernetes: string;
  pkg: string;
}

/**
 * The Kubernetes version each kubernetes-models release was generated from, by its CHANGELOG
 * (4.5.0 "Update schema version to v1.33.0", 5.0.0 "Update to Kubernetes v1.36.0"; 5.1.0 only
 * exports the schema files). Its README badge (1.27.1) is stale. The spec checks the schemas
 * against fields that appeared in those minors, so a release bumped here without a look fails.
 */
const GENERATED_FROM: Record<string, string> = { '4.5': '1.33.0', '5.0': '1.36.0', '5.1': '1.36.0' };

/** 1.36 is what k3s's stable channel ships; 1.33 is the floor (see docs/operations.md, "What is tested here"). */
export const SCHEMA_SETS: readonly SchemaSet[] = [
  { kubernetes: '1.33.0', pkg: 'kubernetes-models' },
  { kubernetes: '1.36.0', pkg: 'kubernetes-models-k8s-1.36' },
];

/** A package's folder, found as Node would from here (5.x exports no package.json to require.resolve). */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (npm install): it carries the Kubernetes schemas`);
  }
}

/** 4.x ships ESM as .mjs beside CommonJS .js; 5.x is ESM only, as .js. */
const moduleFile = (base: string) => (existsSync(`${base}.mjs`) ? `${base}.mjs` : `${base}.js`);

interface Model {
  validate(): void;
}
type ModelClass = new (data: object) => Model;
type Obj = Record<string, unknown>;

/** Validation of rendered objects against one schema set. */
export class K8sSchemas {
  readonly release: string;
  private readonly modelsRoot: string;
  private readonly machineryRoot: string;
  private readonly fieldCache = new Map<string, Set<string>>();

  constructor(readonly set: SchemaSet) {
    this.modelsRoot = packageDir(set.pkg, import.meta.dirname);
    this.machineryRoot = packageDir('@kubernetes-models/apimachinery', this.modelsRoot);
    this.release = (JSON.parse(readFileSync(join(this.modelsRoot, 'package.json'), 'utf8')) as { version: string }).version;
  }

  /** The Kubernetes version the installed release was generated from (undefined: not looked up yet). */
  get generatedFrom(): string | undefined {
    return GENERATED_FROM[this.release.split('.').slice(0, 2).join('.')];
  }

  /** The module of a kind (apps/v1 StatefulSet -> <pkg>/apps/v1/StatefulSet.mjs). */
  private modelFile(apiVersion: string, kind: string): string {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return moduleFile(join(this.modelsRoot, ...(group ? [group] : []), version!, kind));
  }

  /** Validates an object against the Kubernetes JSON schema of its kind; returns the problems. */
  async schemaProblems(o: K8sObject): Promise<string[]> {
    const file = this.modelFile(o.apiVersion, o.kind);
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
  knownFields(schema: string): Set<string> {
    let fields = this.fieldCache.get(schema);
    if (!fields) {
      const root = schema.startsWith('IoK8sApimachinery') ? this.machineryRoot : this.modelsRoot;
      const code = readFileSync(moduleFile(join(root, '_schemas', schema)), 'utf8');
      fields = new Set([...code.matchAll(/\bdata\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!).filter((f) => f !== 'length'));
      this.fieldCache.set(schema, fields);
    }
    return fields;
  }

  /** Fields the schema does not know, at the object, spec, pod, container and policy-rule levels. */
  unknownFieldProblems(o: K8sObject): string[] {
    return unknownFields(o, (schema) => this.knownFields(schema));
  }
}

type Known = (schema: string) => Set<string>;
/** Reports the keys of `value` that `schema` does not know, as `path.key`. */
type Check = (value: unknown, schema: string, path: string) => void;

const each = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function checkContainer(c: Obj, path: string, check: Check): void {
  check(c, 'IoK8sApiCoreV1Container', path);
  check(c.securityContext, 'IoK8sApiCoreV1SecurityContext', `${path}.securityContext`);
  check(c.resources, 'IoK8sApiCoreV1ResourceRequirements', `${path}.resources`);
  for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) check(c[p], 'IoK8sApiCoreV1Probe', `${path}.${p}`);
  each(c.env).forEach((e, i) => check(e, 'IoK8sApiCoreV1EnvVar', `${path}.env[${i}]`));
  each(c.volumeMounts).forEach((m, i) => check(m, 'IoK8sApiCoreV1VolumeMount', `${path}.volumeMounts[${i}]`));
}

function checkPodSpec(spec: Obj, path: string, check: Check): void {
  check(spec, 'IoK8sApiCoreV1PodSpec', path);
  check(spec.securityContext, 'IoK8sApiCoreV1PodSecurityContext', `${path}.securityContext`);
  for (const list of ['containers', 'initContainers']) each(spec[list]).forEach((c, i) => checkContainer(c as Obj, `${path}.${list}[${i}]`, check));
  each(spec.volumes).forEach((v, i) => check(v, 'IoK8sApiCoreV1Volume', `${path}.volumes[${i}]`));
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

function unknownFields(o: K8sObject, known: Known): string[] {
  const out: string[] = [];
  const check: Check = (value, schema, path) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    const fields = known(schema);
    for (const key of Object.keys(value))
      if (!fields.has(key)) out.push(`${path}.${key}: not a field of ${schema.replace(/^IoK8sApi(machineryPkgApis)?/, '')}`);
  };
  const where = `${o.kind} ${o.metadata.name}`;
  const k = KIND_SCHEMAS[o.kind];
  check(o.metadata, 'IoK8sApimachineryPkgApisMetaV1ObjectMeta', `${where} metadata`);
  if (!k) return out;
  check(o, k.schema, where);
  const spec = o.spec as Obj | undefined;
  if (k.spec && spec) check(spec, k.spec, `${where} spec`);
  const template = spec?.template as Obj | undefined;
  if (template) {
    check(template.metadata, 'IoK8sApimachineryPkgApisMetaV1ObjectMeta', `${where} template.metadata`);
    if (template.spec) checkPodSpec(template.spec as Obj, `${where} pod`, check);
  }
  if (o.kind === 'NetworkPolicy' && spec) {
    each(spec.ingress).forEach((r, i) => {
      check(r, 'IoK8sApiNetworkingV1NetworkPolicyIngressRule', `${where} ingress[${i}]`);
      each((r as Obj).from).forEach((p, j) => check(p, 'IoK8sApiNetworkingV1NetworkPolicyPeer', `${where} ingress[${i}].from[${j}]`));
    });
    each(spec.egress).forEach((r, i) => {
      check(r, 'IoK8sApiNetworkingV1NetworkPolicyEgressRule', `${where} egress[${i}]`);
      each((r as Obj).to).forEach((p, j) => check(p, 'IoK8sApiNetworkingV1NetworkPolicyPeer', `${where} egress[${i}].to[${j}]`));
    });
  }
  if (o.kind === 'Service' && spec) each(spec.ports).forEach((p, i) => check(p, 'IoK8sApiCoreV1ServicePort', `${where} ports[${i}]`));
  return out;
}
