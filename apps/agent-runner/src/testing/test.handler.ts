import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Messages, type Envelope, type TestCommand } from '@agency/contracts';
import { OnMessage } from '@agency/messaging';
import { StepRunner } from '../steps/step-runner.service.js';
import { TesterService } from './tester.service.js';

@Controller()
export class TestHandler {
  constructor(
    private readonly steps: StepRunner,
    private readonly tester: TesterService,
  ) {}

  @OnMessage(Messages.Test.subject)
  async test(@Payload() env: Envelope<TestCommand>): Promise<void> {
    await this.steps.run(env, Messages.Tested, `running tests of ${env.frId}, round ${env.payload.round}`, (progress) => this.tester.test(env, progress));
  }
}
