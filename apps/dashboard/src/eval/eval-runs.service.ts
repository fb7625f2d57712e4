import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { SuiteFigures, SuiteReport } from '@agency/eval';
import { DashboardConfig } from '../dashboard.config.js';

/** A suite run as the list shows it: one line per variant (model, tier). */
export interface EvalRunSummary {
  id: string;
  suite: string;
  answers: string;
  startedAt: string;
  finishedAt: string;
  machine: string;
  variants: Array<{ label: string; figures: SuiteFigures }>;
}

/** Folder names the runs live in: nothing else is read, so a request cannot name another path. */
export const EVAL_RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const MAX_RUNS = 200;

/** The suite runs `agency eval run` wrote under EVAL_DIR (one folder each, with report.json). */
@Injectable()
export class EvalRunsService {
  constructor(private readonly config: DashboardConfig) {}

  get dir(): string | undefined {
    return this.config.EVAL_DIR;
  }

  /** Newest first; a folder without a readable report is left out. */
  list(): EvalRunSummary[] {
    const dir = this.dir;
    if (!dir || !existsSync(dir)) return [];
    const ids = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && EVAL_RUN_ID.test(e.name) && existsSync(join(dir, e.name, 'report.json')))
      .map((e) => ({ id: e.name, at: statSync(join(dir, e.name, 'report.json')).mtimeMs }))
      .sort((a, b) => b.at - a.at)
      .slice(0, MAX_RUNS);
    return ids.flatMap(({ id }) => {
      const r = this.report(id);
      return r
        ? [
            {
              id,
              suite: r.suite,
              answers: r.answers,
              startedAt: r.startedAt,
              finishedAt: r.finishedAt,
              machine: r.machine,
              variants: r.variants.map((v) => ({ label: v.label, figures: v.figures })),
            },
          ]
        : [];
    });
  }

  report(id: string): SuiteReport | undefined {
    const dir = this.dir;
    if (!dir || !EVAL_RUN_ID.test(id)) return undefined;
    try {
      return JSON.parse(readFileSync(join(dir, id, 'report.json'), 'utf8')) as SuiteReport;
    } catch {
      return undefined;
    }
  }
}
