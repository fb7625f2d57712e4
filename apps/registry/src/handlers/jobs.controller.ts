import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import type { Job } from '../jobs/job.model.js';
import { JobRepository } from '../jobs/job.repository.js';
import { JobsService } from '../jobs/jobs.service.js';

/** The queue over HTTP, for the CLI and the dashboard: list, inspect, pause and resume dispatching. */
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly repository: JobRepository,
  ) {}

  @Get()
  async list(): Promise<{ jobs: Job[] }> {
    return { jobs: await this.jobs.list() };
  }

  @Get('dispatch')
  dispatchState(): Promise<{ paused: boolean; by?: string; at?: string }> {
    return this.jobs.control();
  }

  @Post('dispatch/pause')
  pause(@Body() body: { by?: string } = {}) {
    return this.jobs.setPaused(true, body.by ?? 'api');
  }

  @Post('dispatch/resume')
  resume(@Body() body: { by?: string } = {}) {
    return this.jobs.setPaused(false, body.by ?? 'api');
  }

  @Get(':jobId')
  async get(@Param('jobId') jobId: string): Promise<Job> {
    const job = await this.repository.get(jobId);
    if (!job) throw new NotFoundException(`job ${jobId} does not exist`);
    return job.value;
  }
}
