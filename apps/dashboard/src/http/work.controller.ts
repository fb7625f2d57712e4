import { BadRequestException, Controller, Get, NotFoundException, Param } from '@nestjs/common';
import type { FrWork, TranscriptView } from '@agency/contracts';
import { AgencyApiClient } from '../upstream/agency-api.client.js';
import { WorkService, type RunRecord } from '../work/work.service.js';
import { call, checkFrId } from './api.controller.js';

/** The workbench's reads: a run's plan, diffs, tests, reviews and the coder's transcripts, from the artifact store. */
@Controller('api/sagas/:frId')
export class WorkController {
  constructor(
    private readonly api: AgencyApiClient,
    private readonly work: WorkService,
  ) {}

  private run(frId: string): Promise<RunRecord> {
    return call(this.api.get<RunRecord>('orchestrator', `/sagas/${encodeURIComponent(checkFrId(frId))}`));
  }

  @Get('work')
  async workOf(@Param('frId') frId: string): Promise<FrWork> {
    return this.work.work(await this.run(frId));
  }

  @Get('transcript/:round')
  async transcript(@Param('frId') frId: string, @Param('round') round: string): Promise<TranscriptView> {
    if (!/^[1-9]\d{0,2}$/.test(round)) throw new BadRequestException(`round must be a number from 1, got '${round}'`);
    const found = await this.work.transcript(await this.run(frId), Number(round));
    if (!found) throw new NotFoundException(`no transcript of round ${round} of ${frId} is stored (yet: it is written when the round's coding ends)`);
    return found;
  }
}
