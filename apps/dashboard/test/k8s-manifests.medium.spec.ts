import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { K8sSchemas, SCHEMA_SETS, renderKustomization, type K8sObject } from './support/k8s-schema.js';
import { NATS_PRINCIPALS, passwordVariable, renderNatsAuthorization } from '@agency/stack';
import { allowed, type Endpoint } from './support/network-policy.js';

// deploy/k8s rendered with the real kubectl (kustomize v5), every object checked against the
// Kubernetes schemas of 1.36 (what k3s's stable channel ships) and 1.33 (the floor), and the
// properties the deployment promises checked on what is rendered.
const root = join(import.meta.dirname, '..', '..', '..');
const k8s = join(root, 'deploy', 'k8s');
const SERVICES = ['orchestrator', 'router', 'registry', 'agent-runner', 'reviewer', 'git-service', 'llm-gateway', 'dashboard'] as const;

/** What a stopping gateway needs after its shutdown wait: close HTTP and the bus, write the spool. */
const SHUTDOWN_AFTER_WAIT_MS = 10_000;

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  restartPolicy?: string;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: ({ name: string } & Obj)[];
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
}

const workloads = (objs: K8sObject[]) => objs.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const podOf = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const podLabels = (o: K8sObject) => (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const allContainers = (p: PodSpec) => [...(p.initContainers ?? []), ...p.containers];
const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
};
/** A generated ConfigMap by its name before kustomize's content-hash suffix. */
const configMap = (objs: K8sObject[], name: string) => {
  const cm = objs.find((o) => o.kind === 'ConfigMap' && (o.metadata.name === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(o.metadata.name)));
  if (!cm) throw new Error(`no ConfigMap ${name}`);
  return cm as K8sObject & { data?: Record<string, string> };
};

const overlays = ['base', 'overlays/k3s', 'overlays/k3s-ha'];
const rendered = new Map<string, K8sObject[]>();
const get = (overlay: string) => {
  let objs = rendered.get(overlay);
  if (!objs) rendered.set(overlay, (objs = renderKustomization(join(k8s, overlay))));
  return objs;
};

const schemaSets = SCHEMA_SETS.map((set) => new K8sSchemas(set));
const problemsOf = async (schemas: K8sSchemas, o: K8sObject) => [...(await schemas.schemaProblems(o)), ...schemas.unknownFieldProblems(o)];

/** A field that appeared in a Kubernetes minor: present in that minor's schemas and later ones, absent before. */
const FIELDS_BY_MINOR: [minor: number, schema: string, field: string][] = [
  [33, 'IoK8sApiCoreV1Lifecycle', 'stopSignal'],
  [34, 'IoK8sApiCoreV1PodSpec', 'hostnameOverride'],
  [35, 'IoK8sApiCoreV1NodeStatus', 'declaredFeatures'],
  // 1.36 replaced 1.35's alpha spec.workloadRef with spec.schedulingGroup (workload-aware scheduling).
  [36, 'IoK8sApiCoreV1PodSpec', 'schedulingGroup'],
];

describe('deploy/k8s renders and every object is a valid Kubernetes object', () => {
  const cases = schemaSets.flatMap((schemas) => overlays.map((overlay) => [schemas.set.kubernetes, schemas.release, overlay, schemas] as const));
  it.each(cases)(
    'Kubernetes %s schemas (kubernetes-models %s), kubectl kustomize %s: schema-valid, no unknown fields, all in namespace agency',
    async (_k8s, _release, overlay, schemas) => {
      const objs = get(overlay);
      expect(objs.length).toBeGreaterThan(50);
      const problems: string[] = [];
      for (const o of objs) problems.push(...(await problemsOf(schemas, o)));
      expect(problems).toEqual([]);
      const outside = objs.filter((o) => !['Namespace', 'PersistentVolume'].includes(o.kind) && o.metadata.namespace !== 'agency');
      expect(outside.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    },
  );

  it.each(schemaSets.map((s) => [s.set.kubernetes, s.release, s] as const))(
    'the Kubernetes %s schemas (kubernetes-models %s) are that version: its release was generated from it and it has the fields of that minor and no later one',
    (kubernetes, _release, schemas) => {
      expect(schemas.generatedFrom, `look up which Kubernetes version kubernetes-models ${schemas.release} was generated from (its CHANGELOG)`).toBe(
        kubernetes,
      );
      const minor = Number(kubernetes.split('.')[1]);
      for (const [since, schema, field] of FIELDS_BY_MINOR)
        expect(schemas.knownFields(schema).has(field), `${schema}.${field} (since 1.${since}) in the ${kubernetes} schemas`).toBe(since <= minor);
    },
  );

  // No npm package carries the schemas of 1.37 (k3s's latest channel) or 1.35: GA API versions and
  // their fields are never removed within Kubernetes 1.x, so what 1.33 and 1.36 both accept holds there.
  it('uses only GA API versions, which no Kubernetes 1.x removes (the schemas also hold removed ones, like extensions/v1beta1)', () => {
    const versions = new Set(overlays.flatMap((overlay) => get(overlay).map((o) => o.apiVersion)));
    expect([...versions].filter((v) => !/^([a-z0-9.-]+\/)?v\d+$/.test(v))).toEqual([]);
  });

  it.each(schemaSets.map((s) => [s.set.kubernetes, s] as const))(
    'Kubernetes %s: catches a misspelt field and an invalid value (the checks are not blind)',
    async (_k8s, schemas) => {
      const d = structuredClone(find(get('base'), 'Deployment', 'router'));
      const c = podOf(d).containers[0] as Container & Obj;
      c.livenesProbe = c.livenessProbe;
      expect(schemas.unknownFieldProblems(d)).toEqual([expect.stringContaining('livenesProbe: not a field of CoreV1Container')]);
      c.resources = { limits: { memory: 'lots' } };
      expect((await schemas.schemaProblems(d)).join()).toMatch(/memory must match format "quantity"/);
    },
  );
});

describe('the services', () => {
  const objs = () => get('overlays/k3s');

  it('run the locally built image of their app, with probes on /health/live and /health/ready, requests and limits, as non-root with a read-only root', () => {
    const dockerfile = readFileSync(join(root, 'deploy', 'images', 'apps.Dockerfile'), 'utf8');
    for (const svc of SERVICES) {
      const w = workloads(objs()).find((o) => o.metadata.name === svc)!;
      expect(w, svc).toBeDefined();
      const pod = podOf(w);
      const c = pod.containers.find((x) => x.name === svc)!;
      expect(c.image, svc).toBe(`localhost/agency/${svc}:0.1.0`);
      expect(dockerfile, `apps.Dockerfile has a ${svc} stage`).toMatch(new RegExp(`^FROM runtime(-git)? AS ${svc}$`, 'm'));
      const port = c.ports?.find((p) => p.name === 'http')?.containerPort;
      expect(port, svc).toBe(7100 + SERVICES.indexOf(svc));
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(Object.keys(c.resources?.requests ?? {}).sort(), svc).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources?.limits ?? {}).sort(), svc).toEqual(['cpu', 'memory']);
      expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, svc).toBe(true);
      expect(c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser, svc).toBe(1000);
      expect(c.securityContext, svc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(pod.automountServiceAccountToken, svc).toBe(false);
      expect((w.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
      });
    }
  });

  it("name every image with its registry host and never pull one implicitly: the agency's under localhost/agency, third-party ones at a fixed version", () => {
    const registryHost = (image: string) => image.split('/')[0]!;
    for (const overlay of overlays)
      for (const w of workloads(get(overlay)))
        for (const c of allContainers(podOf(w))) {
          const at = `${overlay} ${w.metadata.name}/${c.name}: ${c.image}`;
          // docker.io/agency/x or bare agency/x would be anyone's image on Docker Hub.
          expect(registryHost(c.image), at).toMatch(/^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:\d+)?$/);
          expect(c.imagePullPolicy, at).toBe('IfNotPresent');
          if (c.image.includes('/agency/')) expect(c.image, at).toMatch(/^localhost\/agency\/[a-z-]+:\d+\.\d+\.\d+$/);
          else expect(c.image, at).toMatch(/^docker\.io\/[a-z0-9-]+\/[a-z0-9-]+:v?\d+\.\d+\.\d+(-[a-z]+)?$/);
        }
    // The sandbox image too: the init container pulls only from the registry a name states.
    for (const overlay of ['base', 'overlays/k3s'])
      expect(configMap(get(overlay), 'agent-runner-config').data!.SANDBOX_IMAGE, overlay).toBe('localhost/agency/sandbox:latest');
    const overlayFile = readFileSync(join(k8s, 'overlays', 'k3s', 'kustomization.yaml'), 'utf8');
    expect(overlayFile, 'the block deploy/k8s/pin-images.sh rewrites').toMatch(
      /^# BEGIN images\nimages:\n( {2}- \{ name: localhost\/agency\/[a-z-]+, newTag: "0\.1\.0" \}\n){8}# END images$/m,
    );
  });

  it('give every container of every workload resource requests and limits', () => {
    for (const w of workloads(get('overlays/k3s-ha')))
      for (const c of allContainers(podOf(w))) {
        expect(c.resources?.requests?.cpu && c.resources.requests.memory, `${w.metadata.name}/${c.name} requests`).toBeTruthy();
        expect(c.resources?.limits?.cpu && c.resources.limits.memory, `${w.metadata.name}/${c.name} limits`).toBeTruthy();
      }
  });

  it('set only variables their configuration declares (a misspelt name would be silently ignored)', () => {
    const declared = (file: string) =>
      new Set([...readFileSync(file, 'utf8').matchAll(/^\s+(?:override\s+)?([A-Z][A-Z0-9_]+)[!?]?\s*[:=]/gm)].map((m) => m[1]!));
    const common = declared(join(root, 'libs', 'config', 'src', 'base.config.ts'));
    // Read by libraries, not by an app's config class: OpenTelemetry's SDK, dockerode.
    const external = /^(OTEL_[A-Z_]+|DOCKER_HOST|HOME)$/;
    for (const key of Object.keys(configMap(objs(), 'agency-common').data ?? {}))
      expect(common.has(key) || external.test(key) || key === 'VAULT_PATH', `agency-common ${key}`).toBe(true);
    for (const svc of SERVICES) {
      const dir = join(root, 'apps', svc, 'src');
      const own = declared(
        join(
          dir,
          readdirSync(dir).find((f) => f.endsWith('.config.ts'))!,
        ),
      );
      const w = workloads(objs()).find((o) => o.metadata.name === svc)!;
      const c = podOf(w).containers.find((x) => x.name === svc)!;
      const keys = [...Object.keys(configMap(objs(), `${svc}-config`).data ?? {}), ...(c.env ?? []).map((e) => e.name)];
      for (const key of keys)
        expect(
          own.has(key) || common.has(key) || external.test(key) || /^(OPENAI|ANTHROPIC)_API_KEY$|^GITHUB_(TOKEN|WEBHOOK_SECRET)$/.test(key),
          `${svc} sets ${key}`,
        ).toBe(true);
    }
  });

  it('keep secrets where they belong: model keys only in the gateway, the GitHub token only in git-service', () => {
    expect(get('overlays/k3s').filter((o) => o.kind === 'Secret')).toEqual([]);
    const owners = new Map<string, Set<string>>();
    for (const w of workloads(get('overlays/k3s-ha')))
      for (const c of allContainers(podOf(w))) {
        expect(
          c.envFrom?.some((e) => e.secretRef),
          `${w.metadata.name} takes a whole secret`,
        ).toBeFalsy();
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const key = `${ref.name}/${ref.key}`;
          owners.set(key, (owners.get(key) ?? new Set()).add(w.metadata.name));
          // A service's own NATS password is its NATS_PASSWORD; nats-server takes every one under its own name.
          const expected =
            ref.key === 'admin-password' ? 'GF_SECURITY_ADMIN_PASSWORD' : ref.name === 'agency-nats' && w.metadata.name !== 'nats' ? 'NATS_PASSWORD' : ref.key;
          expect(e.name, `${w.metadata.name} ${ref.name}/${ref.key}`).toBe(expected);
        }
      }
    const who = (k: string) => [...(owners.get(k) ?? [])].sort();
    expect(who('agency-github/GITHUB_TOKEN')).toEqual(['git-service']);
    expect(who('agency-github/GITHUB_WEBHOOK_SECRET')).toEqual(['git-service']);
    for (const k of ['GITHUB_APP_ID', 'GITHUB_APP_INSTALLATION_ID', 'GITHUB_APP_PRIVATE_KEY']) expect(who(`agency-github/${k}`)).toEqual(['git-service']);
    for (const k of ['GATEWAY_API_KEYS', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) expect(who(`agency-llm-gateway/${k}`)).toEqual(['llm-gateway']);
    expect(who('agency-gateway-client/LLM_GATEWAY_API_KEY')).toEqual(['agent-runner', 'reviewer', 'router']);
    // The service credential for reading repositories through git-service: its server and its one client.
    expect(who('agency-git-mirror/GIT_MIRROR_TOKEN')).toEqual(['agent-runner', 'git-service']);
    // Each NATS password: nats-server and its one user (the admin's: the HA overlay's replicas job).
    for (const user of NATS_PRINCIPALS) {
      const workload = user === 'admin' ? ['nats', 'nats-stream-replicas'] : user === 'cli' ? ['nats'] : ['nats', user].sort();
      expect(who(`agency-nats/${passwordVariable(user)}`), user).toEqual(workload);
    }
    expect([...owners.keys()].filter((k) => !k.startsWith('agency-nats/')).sort()).toEqual([
      'agency-gateway-client/LLM_GATEWAY_API_KEY',
      'agency-git-mirror/GIT_MIRROR_TOKEN',
      'agency-github/GITHUB_APP_ID',
      'agency-github/GITHUB_APP_INSTALLATION_ID',
      'agency-github/GITHUB_APP_PRIVATE_KEY',
      'agency-github/GITHUB_TOKEN',
      'agency-github/GITHUB_WEBHOOK_SECRET',
      'agency-grafana/admin-password',
      'agency-llm-gateway/ANTHROPIC_API_KEY',
      'agency-llm-gateway/GATEWAY_API_KEYS',
      'agency-llm-gateway/OPENAI_API_KEY',
    ]);
    expect([...owners.keys()].filter((k) => k.startsWith('agency-nats/')).sort()).toEqual(
      NATS_PRINCIPALS.map((u) => `agency-nats/${passwordVariable(u)}`).sort(),
    );
  });

  it('mount the vault at /vault, writable only for the orchestrator', () => {
    for (const svc of SERVICES.filter((s) => s !== 'dashboard')) {
      const c = podOf(workloads(get('overlays/k3s')).find((o) => o.metadata.name === svc)!).containers.find((x) => x.name === svc)!;
      const m = c.volumeMounts?.find((v) => v.mountPath === '/vault');
      expect(m, svc).toBeDefined();
      expect(Boolean(m!.readOnly), svc).toBe(svc !== 'orchestrator');
    }
    const pv = find(get('overlays/k3s'), 'PersistentVolume', 'agency-vault');
    expect((pv.spec as { hostPath: { path: string } }).hostPath.path).toBe('/srv/agency/vault');
    expect((find(get('overlays/k3s'), 'PersistentVolumeClaim', 'agency-vault').spec as { volumeName: string }).volumeName).toBe('agency-vault');
  });

  it('keep WORK_DIR on a writable volume of its own (the root is read-only); the gateway spools unsent spend there, on a claim per replica that outlives its pod', () => {
    for (const overlay of overlays) {
      const objs = get(overlay);
      const gatewayWorkDir = configMap(objs, 'llm-gateway-config').data?.WORK_DIR;
      // Unset, spend and usage events the bus has not taken are lost when the gateway stops (issue 15).
      expect(gatewayWorkDir, `${overlay}: llm-gateway WORK_DIR`).toBe('/work');
      for (const svc of SERVICES) {
        const workDir = configMap(objs, `${svc}-config`).data?.WORK_DIR;
        if (!workDir) continue;
        const w = workloads(objs).find((o) => o.metadata.name === svc)!;
        const pod = podOf(w);
        const mount = pod.containers.find((x) => x.name === svc)!.volumeMounts?.find((m) => m.mountPath === workDir);
        expect(mount, `${overlay} ${svc}: a volume at ${workDir}`).toBeDefined();
        expect(Boolean(mount!.readOnly), `${overlay} ${svc}`).toBe(false);
        const volume = pod.volumes?.find((v) => v.name === mount!.name);
        const claimTemplates = (w.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? [];
        // An emptyDir lives as long as the pod (a restarted container finds it); a claim longer.
        const kept = volume ? 'emptyDir' in volume || 'persistentVolumeClaim' in volume : claimTemplates.some((t) => t.metadata.name === mount!.name);
        expect(kept, `${overlay} ${svc}: volume ${mount!.name}`).toBe(true);
        // The gateway's spool must outlive the pod too (a rollout while NATS is down): a claim per replica.
        if (svc === 'llm-gateway') {
          expect(w.kind, `${overlay}: llm-gateway`).toBe('StatefulSet');
          expect(volume, `${overlay}: llm-gateway WORK_DIR is no pod volume`).toBeUndefined();
          expect(
            claimTemplates.map((t) => t.metadata.name),
            `${overlay}: llm-gateway claim templates`,
          ).toContain(mount!.name);
        }
      }
    }
  });

  it("give the gateway's shutdown wait for unsent spend most of its grace period, with time left to close before the kill", () => {
    for (const overlay of overlays) {
      const objs = get(overlay);
      const waitMs = Number(configMap(objs, 'llm-gateway-config').data?.SHUTDOWN_FLUSH_MS);
      // Kubernetes' default when the pod does not say.
      const graceMs = (podOf(find(objs, 'StatefulSet', 'llm-gateway')).terminationGracePeriodSeconds ?? 30) * 1000;
      // Longer than the 5 s default, so a rollout during an outage of a minute or so spools nothing...
      expect(waitMs, `${overlay}: llm-gateway SHUTDOWN_FLUSH_MS`).toBeGreaterThanOrEqual(60_000);
      // ...and short enough that HTTP and the bus close (and the spool is written) before SIGKILL.
      expect(waitMs + SHUTDOWN_AFTER_WAIT_MS, `${overlay}: SHUTDOWN_FLUSH_MS + ${SHUTDOWN_AFTER_WAIT_MS} ms within the grace period`).toBeLessThanOrEqual(
        graceMs,
      );
    }
  });
});

describe('the sandbox under k3s', () => {
  it('gives agent-runner its own Docker engine as a native sidecar over a unix socket, with the work volume at the same path', () => {
    const runner = find(get('overlays/k3s'), 'StatefulSet', 'agent-runner');
    const pod = podOf(runner);
    const dind = pod.initContainers!.find((c) => c.name === 'dind')!;
    const app = pod.containers.find((c) => c.name === 'agent-runner')!;
    expect(dind.restartPolicy).toBe('Always');
    expect(dind.securityContext?.privileged).toBe(true);
    // No TCP listener: only the socket on a pod-private emptyDir.
    expect(dind.args).toEqual(['dockerd', '--host=unix:///var/run/dind/docker.sock', '--group=1000']);
    expect(dind.args!.join(' ')).not.toMatch(/tcp:\/\//);
    expect(pod.volumes?.find((v) => v.name === 'dind-socket')).toMatchObject({ emptyDir: { medium: 'Memory' } });
    const cfg = configMap(get('overlays/k3s'), 'agent-runner-config').data!;
    // Only a repository's setup has a network (its registries, through the runner's proxy); commands and tests none.
    expect(cfg).toMatchObject({ SANDBOX: 'docker', DOCKER_HOST: 'unix:///var/run/dind/docker.sock', SANDBOX_NETWORK: 'registries', WORK_DIR: '/work' });
    const mountOf = (c: Container, name: string) => c.volumeMounts?.find((m) => m.name === name)?.mountPath;
    expect(mountOf(dind, 'work')).toBe('/work');
    expect(mountOf(app, 'work')).toBe('/work');
    expect(mountOf(dind, 'dind-socket')).toBe('/var/run/dind');
    expect(mountOf(app, 'dind-socket')).toBe('/var/run/dind');
    expect(app.securityContext?.privileged).toBeFalsy();
    const claims = (runner.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates.map((t) => t.metadata.name);
    expect(claims.sort()).toEqual(['docker', 'work']);
  });
});

describe('NATS', () => {
  it('runs JetStream on a persistent volume with fsync on every write', () => {
    const objs = get('overlays/k3s');
    const conf = configMap(objs, 'nats-config').data!['nats.conf']!;
    expect(conf).toMatch(/^\s*sync_interval: always$/m);
    expect(conf).toMatch(/store_dir: \/data\/jetstream/);
    expect(conf).not.toMatch(/cluster \{/);
    const sts = find(objs, 'StatefulSet', 'nats');
    expect((sts.spec as { replicas: number }).replicas).toBe(1);
    expect((sts.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates[0]!.metadata.name).toBe('data');
    const image = podOf(sts).containers.find((c) => c.name === 'nats')!.image;
    const [major, minor, patch] = image
      .replace(/^docker\.io\/library\/nats:/, '')
      .split(/[.-]/)
      .map(Number);
    // sync_interval: always is what production needs from nats-server >= 2.12.3.
    expect(major! * 1e6 + minor! * 1e3 + patch!).toBeGreaterThanOrEqual(2_012_003);
  });

  it("lets in only the agency's users, with the permissions the code renders (auth.conf is not stale), and each service as its own user", () => {
    expect(readFileSync(join(k8s, 'base', 'nats', 'auth.conf'), 'utf8'), 'deploy/k8s/base/nats/auth.conf is stale: run node tools/nats-auth-config.mjs').toBe(
      renderNatsAuthorization(),
    );
    for (const overlay of ['overlays/k3s', 'overlays/k3s-ha']) {
      const data = configMap(get(overlay), 'nats-config').data!;
      expect(data['nats.conf'], overlay).toMatch(/^include \.\/auth\.conf$/m);
      expect(data['auth.conf'], overlay).toBe(renderNatsAuthorization());
      expect(data['nats.conf'], overlay).not.toMatch(/no_auth_user|authorization/);
    }
    for (const svc of SERVICES) {
      const c = podOf(workloads(get('overlays/k3s')).find((o) => o.metadata.name === svc)!).containers.find((x) => x.name === svc)!;
      expect(c.env?.find((e) => e.name === 'NATS_USER')?.value, svc).toBe(svc);
      expect(c.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef, svc).toEqual({ name: 'agency-nats', key: passwordVariable(svc) });
    }
    // create-secrets.sh makes a password for every user auth.conf names.
    const script = readFileSync(join(k8s, 'create-secrets.sh'), 'utf8');
    const users = script.match(/^for user in ([A-Z_ ]+); do$/m)![1]!.split(' ');
    expect(users.map((u) => `NATS_PASSWORD_${u}`).sort()).toEqual(NATS_PRINCIPALS.map(passwordVariable).sort());
    // A password nats-server can read from its environment: a letter first (see NATS_PASSWORD_FORMAT).
    expect(script).toMatch(/value="natspw_\$\(random\)"/);
  });

  it('runs operator scripts (nats-admin.sh) as the admin user, its password from the Secret, the script intact', async () => {
    const script = `for s in $(nats stream ls --names); do echo "$s\\"'x'; done\n\ttar -cz .`;
    const out = execFileSync('bash', [join(k8s, 'nats-admin.sh'), '--print', script], { encoding: 'utf8' });
    const overrides = JSON.parse(out) as { spec: PodSpec };
    const c = overrides.spec.containers[0]!;
    expect((c as Container & { command: string[] }).command).toEqual(['sh', '-c', script]);
    expect(c.env).toContainEqual({ name: 'NATS_USER', value: 'admin' });
    expect(c.env).toContainEqual({ name: 'NATS_PASSWORD', valueFrom: { secretKeyRef: { name: 'agency-nats', key: 'NATS_PASSWORD_ADMIN' } } });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: c.name, namespace: 'agency', labels: { 'app.kubernetes.io/name': 'nats-admin' } },
      spec: overrides.spec,
    } as unknown as K8sObject;
    for (const schemas of schemaSets) expect(await problemsOf(schemas, pod), schemas.set.kubernetes).toEqual([]);
  });

  it('runs three clustered servers in the HA overlay and raises the agency streams to three replicas', () => {
    const objs = get('overlays/k3s-ha');
    expect((find(objs, 'StatefulSet', 'nats').spec as { replicas: number }).replicas).toBe(3);
    const conf = configMap(objs, 'nats-config').data!['nats.conf']!;
    expect(conf).toMatch(/sync_interval: always/);
    for (const i of [0, 1, 2]) expect(conf).toContain(`nats://nats-${i}.nats-headless:6222`);
    const job = find(objs, 'Job', 'nats-stream-replicas');
    const script = JSON.stringify(podOf(job).containers[0]);
    for (const s of ['AGENCY_CMD', 'AGENCY_EVT', 'AGENCY_DLQ', 'KV_agency-sagas', 'KV_agency-jobs', 'OBJ_agency-artifacts']) expect(script).toContain(s);
  });
});

describe('network policies', () => {
  let objs: K8sObject[] = [];
  let policies: K8sObject[] = [];
  beforeAll(() => {
    objs = get('overlays/k3s-ha');
    policies = objs.filter((o) => o.kind === 'NetworkPolicy');
  });
  const pod = (name: string): Endpoint => {
    const w = workloads(objs).find((o) => o.metadata.name === name);
    if (!w) throw new Error(`no workload ${name}`);
    return { namespace: 'agency', labels: podLabels(w) };
  };
  const traefik: Endpoint = { namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'traefik' } };
  const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const internet: Endpoint = { ip: '203.0.113.10' };
  const metadataService: Endpoint = { ip: '169.254.169.254' };

  it('deny everything by default', () => {
    expect(policies.find((p) => p.metadata.name === 'default-deny')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const stranger: Endpoint = { namespace: 'agency', labels: { app: 'debug-shell' } };
    expect(allowed(policies, stranger, pod('nats'), 4222)).toBe(false);
    expect(allowed(policies, stranger, internet, 443)).toBe(false);
    expect(allowed(policies, pod('router'), stranger, 80)).toBe(false);
  });

  it.each([
    [
      'every service reaches NATS and DNS',
      () => SERVICES.every((s) => allowed(policies, pod(s), pod('nats'), 4222) && allowed(policies, pod(s), dns, 53)),
      true,
    ],
    ['every service sends spans to Jaeger', () => SERVICES.every((s) => allowed(policies, pod(s), pod('jaeger'), 4318)), true],
    [
      'agents, reviewer and router (its score refinement) call the gateway',
      () => ['agent-runner', 'reviewer', 'router'].every((s) => allowed(policies, pod(s), pod('llm-gateway'), 7106)),
      true,
    ],
    ['Traefik reaches the gateway (the Ingress)', () => allowed(policies, traefik, pod('llm-gateway'), 7106), true],
    [
      'Traefik reaches git-service’s HTTP port (the webhook Ingress), not its git server',
      () => allowed(policies, traefik, pod('git-service'), 7105) && !allowed(policies, traefik, pod('git-service'), 7115),
      true,
    ],
    ['the gateway calls model providers over HTTPS', () => allowed(policies, pod('llm-gateway'), internet, 443), true],
    ['git-service reaches GitHub over HTTPS', () => allowed(policies, pod('git-service'), internet, 443), true],
    ['agent-runner fetches repositories from git-service’s git server', () => allowed(policies, pod('agent-runner'), pod('git-service'), 7115), true],
    [
      'only agent-runner reaches git-service’s git server, and not its API',
      () =>
        allowed(policies, pod('reviewer'), pod('git-service'), 7115) ||
        allowed(policies, pod('dashboard'), pod('git-service'), 7115) ||
        allowed(policies, pod('agent-runner'), pod('git-service'), 7105),
      false,
    ],
    [
      'the dashboard reads and steers the orchestrator, reads the registry and PR records',
      () =>
        allowed(policies, pod('dashboard'), pod('orchestrator'), 7100) &&
        allowed(policies, pod('dashboard'), pod('registry'), 7102) &&
        allowed(policies, pod('dashboard'), pod('git-service'), 7105),
      true,
    ],
    [
      'Prometheus scrapes the services and NATS metrics',
      () => SERVICES.every((s, i) => allowed(policies, pod('prometheus'), pod(s), 7100 + i)) && allowed(policies, pod('prometheus'), pod('nats'), 7777),
      true,
    ],
    [
      'Grafana reads Prometheus and Jaeger',
      () => allowed(policies, pod('grafana'), pod('prometheus'), 9090) && allowed(policies, pod('grafana'), pod('jaeger'), 16686),
      true,
    ],
    ['NATS servers route to each other', () => allowed(policies, pod('nats'), pod('nats'), 6222), true],
    ['the HA job reaches NATS', () => allowed(policies, pod('nats-stream-replicas'), pod('nats'), 4222), true],
    [
      'an operator nats-admin pod reaches NATS (backups)',
      () => allowed(policies, { namespace: 'agency', labels: { 'app.kubernetes.io/name': 'nats-admin' } }, pod('nats'), 4222),
      true,
    ],
    [
      'the router reaches the gateway only: not the internet, not the other services',
      () =>
        allowed(policies, pod('router'), internet, 443) ||
        allowed(policies, pod('router'), pod('orchestrator'), 7100) ||
        allowed(policies, pod('router'), pod('registry'), 7102),
      false,
    ],
    [
      'the registry and the orchestrator cannot call the gateway',
      () => allowed(policies, pod('registry'), pod('llm-gateway'), 7106) || allowed(policies, pod('orchestrator'), pod('llm-gateway'), 7106),
      false,
    ],
    ['the orchestrator cannot reach the internet', () => allowed(policies, pod('orchestrator'), internet, 443), false],
    ['the reviewer cannot reach the internet', () => allowed(policies, pod('reviewer'), internet, 443), false],
    ['agent-runner cannot steer the orchestrator', () => allowed(policies, pod('agent-runner'), pod('orchestrator'), 7100), false],
    [
      'nothing reaches the cloud metadata service',
      () => SERVICES.some((s) => allowed(policies, pod(s), metadataService, 80) || allowed(policies, pod(s), metadataService, 443)),
      false,
    ],
    [
      'Traefik cannot reach the dashboard, the orchestrator or NATS',
      () =>
        allowed(policies, traefik, pod('dashboard'), 7107) ||
        allowed(policies, traefik, pod('orchestrator'), 7100) ||
        allowed(policies, traefik, pod('nats'), 4222),
      false,
    ],
    [
      'the gateway cannot reach NATS monitoring or other services',
      () => allowed(policies, pod('llm-gateway'), pod('nats'), 8222) || allowed(policies, pod('llm-gateway'), pod('orchestrator'), 7100),
      false,
    ],
  ] as const)('%s', (_name, check, expected) => {
    expect(check()).toBe(expected);
  });
});

describe('exposure and observability', () => {
  it('exposes only the gateway’s OpenAI API and git-service’s webhook path, through Traefik with TLS', () => {
    const ingresses = get('overlays/k3s').filter((o) => o.kind === 'Ingress');
    expect(ingresses.map((i) => i.metadata.name).sort()).toEqual(['git-service-webhooks', 'llm-gateway']);
    type Spec = {
      ingressClassName: string;
      tls: { secretName: string }[];
      rules: { http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } }[];
    };
    const routes = ingresses.flatMap((i) => {
      const spec = i.spec as Spec;
      expect(spec.ingressClassName).toBe('traefik');
      expect(spec.tls[0]!.secretName).toBe(`${i.metadata.name}-tls`);
      return spec.rules.flatMap((r) => r.http.paths.map((p) => `${p.path} (${p.pathType}) -> ${p.backend.service.name}`));
    });
    expect(routes.sort()).toEqual(['/forge/github/webhooks (Exact) -> git-service', '/v1 (Prefix) -> llm-gateway']);
    expect(
      get('overlays/k3s').filter((o) => o.kind === 'Service' && (o.spec as { type?: string }).type && (o.spec as { type?: string }).type !== 'ClusterIP'),
    ).toEqual([]);
  });

  it('sends spans to Jaeger over OTLP and links traces from FR files and the dashboard', () => {
    const objs = get('overlays/k3s');
    expect(configMap(objs, 'agency-common').data).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' });
    expect(configMap(objs, 'orchestrator-config').data!.TRACE_URL_TEMPLATE).toContain('{traceId}');
    expect(configMap(objs, 'dashboard-config').data!.TRACE_URL_TEMPLATE).toContain('{traceId}');
    const jaegerConf = configMap(objs, 'jaeger-config').data!['config.yaml']!;
    expect(jaegerConf).toMatch(/otlp:[\s\S]*http:\s*\n\s*endpoint: 0\.0\.0\.0:4318/);
    expect(jaegerConf).toMatch(/ephemeral: false/);
  });

  it('provisions Grafana with Prometheus and Jaeger and a dashboard whose agency metrics exist in the code', () => {
    const objs = get('overlays/k3s');
    const sources = configMap(objs, 'grafana-datasources').data!['datasources.yaml']!;
    const uids = [...sources.matchAll(/uid: (\S+)/g)].map((m) => m[1]);
    expect(uids.sort()).toEqual(['jaeger', 'prometheus']);
    const dashboard = JSON.parse(configMap(objs, 'grafana-dashboards').data!['agency.json']!) as {
      panels: { title: string; datasource?: { uid: string }; targets?: { expr?: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const p of dashboard.panels.filter((x) => x.datasource)) expect(uids, p.title).toContain(p.datasource!.uid);
    const exprs =
      dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).join('\n') +
      readFileSync(join(k8s, 'base', 'observability', 'alerts.yml'), 'utf8');
    const ours = new Set([...exprs.matchAll(/\b((?:llm_gateway|agency)_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!));
    expect(ours.size).toBeGreaterThan(5);
    // Every service's domain metrics are defined once, in libs/bootstrap (runService wires them).
    const sources_ = [...[...SERVICES].map((s) => join(root, 'apps', s, 'src')), join(root, 'libs', 'bootstrap', 'src')]
      .flatMap((d) => walk(d))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const metric of ours) expect(sources_, `metric ${metric} is defined in apps/*/src or libs/bootstrap/src`).toContain(`'${metric}'`);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
}
