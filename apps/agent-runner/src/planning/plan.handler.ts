import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type PlanCommand } from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { StepRunner } from '../steps/step-runner.service.js';
import { PlannerService } from './planner.service.js';

@Controller()
export class PlanHandler {
  constructor(
    private readonly steps: StepRunner,
    private readonly planner: PlannerService,
  ) {}

  @OnMessage(Messages.Plan.subject)
  async plan(@Payload() env: Envelope<PlanCommand>): Promise<void> {
    await this.steps.run(env, Messages.Planned, `planning ${env.frId}`, (_progress, signal) => this.planner.plan(env, signal));
  }
}
