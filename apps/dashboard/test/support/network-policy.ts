import type { K8sObject } from './k8s-schema.js';

/** A connection's end: a pod (its namespace and labels) or an address outside the cluster. */
export type Endpoint = { namespace: string; labels: Record<string, string> } | { ip: string };

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol?: string; port?: number | string }[];
}

interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: Rule[];
  egress?: Rule[];
}

function selects(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(labels[e.key]!)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(labels[e.key]!)
          : e.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
  return (ipToInt(ip) & mask) >>> 0 === (ipToInt(base!) & mask) >>> 0;
}

/** Namespace labels as Kubernetes sets them (kubernetes.io/metadata.name). */
const nsLabels = (namespace: string) => ({ 'kubernetes.io/metadata.name': namespace });

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if ('ip' in other) return !!peer.ipBlock && inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, nsLabels(other.namespace)) : other.namespace === policyNamespace;
  return nsOk && selects(peer.podSelector, other.labels);
}

function ruleMatches(rule: Rule, peers: Peer[] | undefined, policyNamespace: string, other: Endpoint, port: number): boolean {
  const portOk = !rule.ports?.length || rule.ports.some((p) => p.port === undefined || p.port === port);
  const peerOk = !peers?.length || peers.some((p) => peerMatches(p, policyNamespace, other));
  return portOk && peerOk;
}

/**
 * Whether the rendered NetworkPolicies let `from` open a TCP connection to `to` on `port`: the
 * source's egress and the destination's ingress must both allow it (a pod no policy of that
 * direction selects is open in that direction), as the NetworkPolicy API defines.
 */
export function allowed(policies: K8sObject[], from: Endpoint, to: Endpoint, port: number): boolean {
  const side = (pod: Endpoint, direction: 'Ingress' | 'Egress', other: Endpoint): boolean => {
    if ('ip' in pod) return true; // outside the cluster: no policy applies
    const selecting = policies.filter((p) => {
      const spec = p.spec as PolicySpec;
      const types = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
      return (p.metadata.namespace ?? 'default') === pod.namespace && types.includes(direction) && selects(spec.podSelector, pod.labels);
    });
    if (selecting.length === 0) return true;
    return selecting.some((p) => {
      const spec = p.spec as PolicySpec;
      const rules = (direction === 'Ingress' ? spec.ingress : spec.egress) ?? [];
      return rules.some((r) => ruleMatches(r, direction === 'Ingress' ? r.from : r.to, p.metadata.namespace ?? 'default', other, port));
    });
  };
  return side(from, 'Egress', to) && side(to, 'Ingress', from);
}
