import { Controller, Get, Header, NotFoundException, Param } from '@nestjs/common';
import type { SuiteReport } from '@agency/eval';
import { evalListPage, evalRunPage } from '../eval/eval-page.js';
import { EvalRunsService, type EvalRunSummary } from '../eval/eval-runs.service.js';

const CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Suite runs of `agency eval run` (EVAL_DIR): a page and a JSON API, read-only. */
@Controller()
export class EvalController {
  constructor(private readonly runs: EvalRunsService) {}

  @Get('api/eval/runs')
  list(): { dir: string | null; runs: EvalRunSummary[] } {
    return { dir: this.runs.dir ?? null, runs: this.runs.list() };
  }

  @Get('api/eval/runs/:id')
  one(@Param('id') id: string): SuiteReport {
    const r = this.runs.report(id);
    if (!r) throw new NotFoundException(`no suite run ${id}`);
    return r;
  }

  @Get('eval')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return evalListPage(this.runs.list(), this.runs.dir);
  }

  @Get('eval/:id')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  run(@Param('id') id: string): string {
    const r = this.runs.report(id);
    if (!r) throw new NotFoundException(`no suite run ${id}`);
    return evalRunPage(id, r);
  }
}
