// Small helpers shared by the agent-runner benchmarks.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Milliseconds taken by `fn` (awaited). */
export async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summary(values) {
  return { n: values.length, median: percentile(values, 50), p99: percentile(values, 99), min: Math.min(...values), max: Math.max(...values) };
}

export function fmt(ms) {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

/** One markdown table row: name, n, median, p99, min, max. */
export function row(name, s) {
  return `| ${name} | ${s.n} | ${fmt(s.median)} | ${fmt(s.p99)} | ${fmt(s.min)} | ${fmt(s.max)} |`;
}

export const HEADER = '| measurement | runs | median | p99 | min | max |\n| --- | --- | --- | --- | --- | --- |';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds the agent-runner and the libs it uses (tools/build.mjs), and returns an importer of
 * compiled modules under dist/ (paths relative to it).
 */
export async function buildAgentRunner(root) {
  const projects = [
    'apps/agent-runner',
    'libs/contracts',
    'libs/messaging',
    'libs/telemetry',
    'libs/config',
    'libs/vault',
    'libs/llm-client',
    'libs/bootstrap',
    'libs/git',
  ];
  execFileSync(process.execPath, [join(root, 'tools/build.mjs'), '--quiet', ...projects], { stdio: 'inherit' });
  return (p) => import(join(root, 'dist', p));
}
