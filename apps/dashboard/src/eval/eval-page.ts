import type { SuiteReport } from '@agency/eval';
import type { EvalRunSummary } from './eval-runs.service.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const usd = (n?: number) => (n === undefined ? '–' : `$${n.toFixed(4)}`);
const secs = (ms?: number) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header><h1>Agency</h1><a href="/" class="live on">FRs</a><a href="/eval" class="live on">Eval runs</a></header>
<main>${body}</main>
</body>
</html>
`;
}

/** The list of suite runs: per run and variant, resolved rate, cost per task and per resolved task, time to PR. */
export function evalListPage(runs: EvalRunSummary[], dir: string | undefined): string {
  if (!dir)
    return page(
      'Eval runs',
      '<section><h2>Eval runs</h2><p class="muted">EVAL_DIR is not set: the dashboard does not know where `agency eval run` keeps its runs.</p></section>',
    );
  const rows = runs.flatMap((r) =>
    r.variants.map(
      (v) =>
        `<tr><td><a href="/eval/${esc(r.id)}">${esc(r.id)}</a></td><td>${esc(r.suite)}</td><td>${esc(r.answers)}</td><td>${esc(v.label)}</td><td>${v.figures.resolved}/${v.figures.valid} (${(v.figures.resolvedRate * 100).toFixed(0)}%)</td><td>${v.figures.reachedPr}</td><td>${usd(v.figures.costPerTaskUsd)}</td><td>${usd(v.figures.costPerResolvedUsd)}</td><td>${secs(v.figures.timeToPrMedianMs)} / ${secs(v.figures.timeToPrP90Ms)}</td><td>${esc(r.startedAt)}</td></tr>`,
    ),
  );
  const table = rows.length
    ? `<table><thead><tr><th>run</th><th>suite</th><th>answers</th><th>variant</th><th>resolved</th><th>reached PR</th><th>cost/task</th><th>cost/resolved</th><th>time to PR (median / p90)</th><th>started</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : `<p class="muted">No suite run in ${esc(dir)} yet: <code>agency eval run &lt;suite&gt;</code>.</p>`;
  return page('Eval runs', `<section><h2>Eval runs</h2>${table}</section>`);
}

/** One suite run: every task of every variant. */
export function evalRunPage(id: string, r: SuiteReport): string {
  const sections = r.variants.map((v) => {
    const rows = v.tasks.map((t) => {
      const tokens = Object.entries(t.figures?.usage ?? {})
        .map(([role, u]) => `${esc(role)} ${u.calls}× ${u.inputTokens}/${u.cachedInputTokens}/${u.outputTokens}`)
        .join('<br>');
      return `<tr><td>${esc(t.task)}</td><td>${esc(t.outcome)}</td><td>${t.reachedPr ? (t.draft ? 'draft' : 'yes') : 'no'}</td><td>${t.figures?.prTests ? (t.figures.prTests.passed ? 'pass' : 'fail') : '–'}</td><td>${t.figures?.reviewRounds ?? '–'}</td><td>${tokens || '–'}</td><td>${usd(t.figures?.costUsd)}</td><td>${secs(t.figures?.timeToPrMs)}</td><td>${esc(t.failureCode ?? '')}</td></tr>`;
    });
    return `<section><h2>${esc(v.label)}: ${v.figures.resolved}/${v.figures.valid} resolved, ${usd(v.figures.costUsd)}</h2><table><thead><tr><th>task</th><th>outcome</th><th>PR</th><th>PR tests</th><th>review rounds</th><th>tokens (calls× in/cached/out)</th><th>cost</th><th>time to PR</th><th>failure</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
  });
  return page(
    `Eval ${id}`,
    `<section><h2>${esc(r.suite)} (${esc(r.answers)})</h2><p class="muted">${esc(r.startedAt)} to ${esc(r.finishedAt)} on ${esc(r.machine)}</p></section>${sections.join('')}`,
  );
}
