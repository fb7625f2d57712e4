import type { ParsedDiff } from '../diff/unified-diff.parser.js';
import type { CheckResult, Finding } from '../review/review.model.js';

export interface SecretPattern {
  id: string;
  /** What the match looks like, for the finding's message. */
  what: string;
  regex: RegExp;
  /** Capture group holding the secret value (0: the whole match). */
  group?: number;
}

/** Values of generic assignments that are obviously not secrets. */
const PLACEHOLDER =
  /^(?:\$\{.*\}|\{\{.*\}\}|<.*>|%\(.*\)s|\*+|x+|\.+|changeme|change-me|example|placeholder|redacted|dummy|test|password|secret|your[_-].*|process\.env\..*)$/i;

export const SECRET_PATTERNS: SecretPattern[] = [
  { id: 'private-key', what: 'a private key block', regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { id: 'aws-access-key-id', what: 'an AWS access key id', regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  {
    id: 'aws-secret-access-key',
    what: 'an AWS secret access key',
    regex: /aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b/i,
    group: 1,
  },
  { id: 'github-token', what: 'a GitHub token', regex: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/ },
  { id: 'github-pat', what: 'a GitHub fine-grained token', regex: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/ },
  { id: 'openai-style-key', what: 'an OpenAI/Anthropic-style API key', regex: /\bsk-(?:proj-|svcacct-|admin-|ant-)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}/ },
  { id: 'slack-token', what: 'a Slack token', regex: /\bxox[abposre]-[A-Za-z0-9-]{10,}/ },
  { id: 'slack-webhook', what: 'a Slack webhook URL', regex: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/ },
  { id: 'google-api-key', what: 'a Google API key', regex: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { id: 'stripe-live-key', what: 'a Stripe live key', regex: /\b(?:sk|rk)_live_[0-9A-Za-z]{20,}\b/ },
  {
    id: 'password-assignment',
    what: 'a hard-coded password or secret',
    // The name must end the identifier (dbPassword = "...", "api_key": "..."), so csrfTokenHeader does not count.
    regex: /(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)["']?\s*(?::|=(?!=))\s*(["'`])([^"'`\s]{6,})\1/i,
    group: 2,
  },
];

/** Shows enough to find the value, never the value itself: reports and events are widely read. */
export function redact(value: string): string {
  return `${value.slice(0, 4)}… (${value.length} chars)`;
}

/** The first secret on a line, if any. */
export function findSecret(text: string, patterns: readonly SecretPattern[] = SECRET_PATTERNS): { pattern: SecretPattern; value: string } | undefined {
  for (const pattern of patterns) {
    const m = pattern.regex.exec(text);
    if (!m) continue;
    const value = m[pattern.group ?? 0] ?? m[0];
    if (pattern.id === 'password-assignment' && PLACEHOLDER.test(value)) continue;
    return { pattern, value };
  }
  return undefined;
}

/** At most this many findings, so a committed key dump does not flood the review. */
export const MAX_SECRET_FINDINGS = 50;

/** Scans added lines only: a removed secret is a fix, not a leak. */
export function checkSecrets(diff: ParsedDiff | undefined): CheckResult {
  const findings: Finding[] = [];
  let total = 0;
  for (const file of diff?.files ?? []) {
    if (file.status === 'deleted') continue;
    for (const added of file.added) {
      const hit = findSecret(added.text);
      if (!hit) continue;
      total += 1;
      if (findings.length >= MAX_SECRET_FINDINGS) continue;
      findings.push({
        file: file.path,
        line: added.line,
        severity: 'critical',
        message: `Added line ${added.line} of ${file.path} contains what looks like ${hit.pattern.what} (${redact(hit.value)}).`,
        suggestion: 'Remove it, rotate it if it is real, and read it from the environment or a secret store instead.',
        blocking: true,
        confidence: 1,
        source: 'check',
        check: 'secrets',
      });
    }
  }
  const shown = total > findings.length ? ` (first ${findings.length} reported)` : '';
  return {
    id: 'secrets',
    passed: total === 0,
    detail: total === 0 ? 'no secret in added lines' : `${total} added line(s) look like they hold secrets${shown}`,
    findings,
  };
}

/**
 * Replaces every secret-looking value in a text (any diff line, added or removed) before it
 * leaves the agency in a model prompt: the model needs to know a secret is there, not what it is.
 */
export function redactSecrets(text: string): { text: string; count: number } {
  let count = 0;
  const lines = text.split('\n').map((line) => {
    let out = line;
    // Bounded: a replacement can never match again, but a loop over text must not trust that.
    for (let hit = findSecret(out), n = 0; hit && n < 20; hit = findSecret(out), n += 1) {
      count += 1;
      out = out.replace(hit.value, `[redacted ${hit.pattern.id}]`);
    }
    return out;
  });
  return { text: lines.join('\n'), count };
}
