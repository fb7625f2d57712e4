import { isStopped } from '@agency/contracts';
import type { SagaSummary } from '../api.client.js';

/** What the report of an FR that waits for a person (or is over) needs besides the summary. */
export interface ReportContext {
  /** The local forge's folder of bare repositories, when the PR is on it. */
  forgeRoot?: string;
  /** The PR's branch and the base it goes into (the saga's workspace and repository). */
  branch?: string;
  base?: string;
  planSummary?: string;
  /** The web dashboard's page for the FR, when the stack runs one. */
  dashboardUrl?: string;
  traceHint: string;
  frFile?: string;
  logsDir: string;
  /** Set when the stack runs on another run directory than the default: the commands must name it. */
  runDir?: string;
}

/**
 * The block `agency up` prints when an FR waits for a person or is over: where its PR, branch,
 * trace and file are, and only what can be done in that state (a merged FR is not told to merge).
 */
export function reportLines(s: SagaSummary, ctx: ReportContext): string[] {
  const agency = (args: string) => `${ctx.runDir ? `AGENCY_RUN_DIR=${ctx.runDir} ` : ''}npm run agency -- ${args}`;
  const lines = [`== ${s.frId} "${s.title}": ${s.state}`];
  const row = (label: string, value: string) => lines.push(`   ${label.padEnd(15)}${value}`);
  if (s.state === 'awaiting-plan-approval') {
    if (ctx.planSummary) row('plan', ctx.planSummary);
    row('approve it', `${agency(`approve ${s.frId}`)}   (or reject ${s.frId} --comment "...")`);
  }
  const local = s.prUrl?.match(/^local:\/\/(.+)\/pulls\/(\d+)$/);
  if (s.prUrl) row('pull request', s.prUrl);
  if (local && ctx.forgeRoot) row('PR record', `${ctx.forgeRoot}/${local[1]}.prs/${local[2]}.json`);
  if (local && ctx.branch && s.state !== 'done')
    row('branch', `git -C ${ctx.forgeRoot ?? '<forge>'}/${local[1]}.git log --stat ${ctx.base ?? 'main'}..${ctx.branch}`);
  if (ctx.dashboardUrl) row('dashboard', ctx.dashboardUrl);
  if (s.state === 'awaiting-merge' && local) row('merge it', agency(`merge ${s.frId}`));
  if (s.state === 'done') row('merged', s.prUrl ? 'yes: the FR is done' : 'the FR is done');
  row('trace', `${s.traceId}  (${ctx.traceHint})`);
  row('FR file', ctx.frFile ?? '(not found in the vault)');
  if (s.failure) row('reason', s.failure);
  if (isStopped(s.state)) row('retry it', `${agency(`retry ${s.frId}`)}   (what happened: ${agency(`logs ${s.frId}`)})`);
  row('cost', `$${s.costUsd.toFixed(4)}   logs in ${ctx.logsDir}`);
  return lines;
}
