import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type PlanCommand } from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { EnvironmentWarmup } from '../environment/environment-warmup.service.js';
import { jobIdOf } from '../steps/step-ids.js';
import { StepRunner } from '../steps/step-runner.service.js';
import { PlannerService } from './planner.service.js';

@Controller()
export class PlanHandler {
  constructor(
    private readonly steps: StepRunner,
    private readonly planner: PlannerService,
    private readonly warmup: EnvironmentWarmup,
  ) {}

  @OnMessage(Messages.Plan.subject)
  async plan(@Payload() env: Envelope<PlanCommand>): Promise<void> {
    await this.steps.run(env, Messages.Planned, `planning ${env.frId}`, (progress, signal) =>
      // The job's environment needs nothing from the plan: it is built at the plan's base while the model plans.
      this.planner.plan(env, signal, (baseSha) => this.warmup.start(jobIdOf(env), env.payload, baseSha, signal, progress)),
    );
  }
}
