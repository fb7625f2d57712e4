import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type CodeCommand, type Envelope } from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { StepRunner } from '../steps/step-runner.service.js';
import { CoderService } from './coder.service.js';

@Controller()
export class CodeHandler {
  constructor(
    private readonly steps: StepRunner,
    private readonly coder: CoderService,
  ) {}

  @OnMessage(Messages.Code.subject)
  async code(@Payload() env: Envelope<CodeCommand>): Promise<void> {
    const what = env.payload.findings.length > 0 || env.payload.testFailures ? 'fixing' : 'coding';
    await this.steps.run(env, Messages.Coded, `${what} ${env.frId}, round ${env.payload.round}`, (progress, signal) => this.coder.code(env, progress, signal));
  }
}
