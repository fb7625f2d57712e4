import { Module, type DynamicModule } from '@nestjs/common';
import { ArtifactStore, BusConnection, Clock } from '@agency/messaging';
import type { DashboardConfig } from './dashboard.config.js';
import { EventFeedService } from './events/event-feed.service.js';
import { EventStreamClient } from './events/event-stream.client.js';
import { EvalRunsService } from './eval/eval-runs.service.js';
import { ApiController } from './http/api.controller.js';
import { EvalController } from './http/eval.controller.js';
import { PageController } from './http/page.controller.js';
import { WorkController } from './http/work.controller.js';
import { FrViewService } from './timeline/fr-view.service.js';
import { AgencyApiClient } from './upstream/agency-api.client.js';
import { WorkService } from './work/work.service.js';

@Module({})
export class DashboardModule {
  static forRoot(_config: DashboardConfig): DynamicModule {
    return {
      module: DashboardModule,
      controllers: [PageController, ApiController, EvalController, WorkController],
      providers: [
        { provide: Clock, useValue: new Clock() },
        // Read only: the dashboard's NATS user may read the artifact store, never write it.
        { provide: ArtifactStore, useFactory: (bus: BusConnection) => new ArtifactStore(bus), inject: [BusConnection] },
        AgencyApiClient,
        EventStreamClient,
        EventFeedService,
        FrViewService,
        EvalRunsService,
        WorkService,
      ],
    };
  }
}
