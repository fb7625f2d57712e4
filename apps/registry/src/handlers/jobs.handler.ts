import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type CancelJobCommand, type CompleteJobCommand, type EnqueueJobCommand, type Envelope } from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { JobsService } from '../jobs/jobs.service.js';

@Controller()
export class JobsHandler {
  constructor(private readonly jobs: JobsService) {}

  @OnMessage(Messages.EnqueueJob.subject)
  async enqueue(@Payload() env: Envelope<EnqueueJobCommand>): Promise<void> {
    await this.jobs.enqueue(env);
  }

  @OnMessage(Messages.CompleteJob.subject)
  async complete(@Payload() env: Envelope<CompleteJobCommand>): Promise<void> {
    await this.jobs.complete(env);
  }

  @OnMessage(Messages.CancelJob.subject)
  async cancel(@Payload() env: Envelope<CancelJobCommand>): Promise<void> {
    await this.jobs.cancel(env);
  }
}
