import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import type { Job } from '../jobs/job.model.js';
import { JobRepository } from '../jobs/job.repository.js';
import { JobsService } from '../jobs/jobs.service.js';

/** Read-only HTTP view of the queue, for the CLI and the dashboard. */
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

  @Get(':jobId')
  async get(@Param('jobId') jobId: string): Promise<Job> {
    const job = await this.repository.get(jobId);
    if (!job) throw new NotFoundException(`job ${jobId} does not exist`);
    return job.value;
  }
}
