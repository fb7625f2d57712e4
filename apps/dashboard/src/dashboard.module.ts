import { Module, type DynamicModule } from '@nestjs/common';
import { Clock } from '@agency/messaging';
import type { DashboardConfig } from './dashboard.config.js';
import { EventFeedService } from './events/event-feed.service.js';
import { EventStreamClient } from './events/event-stream.client.js';
import { ApiController } from './http/api.controller.js';
import { PageController } from './http/page.controller.js';
import { FrViewService } from './timeline/fr-view.service.js';
import { AgencyApiClient } from './upstream/agency-api.client.js';

@Module({})
export class DashboardModule {
  static forRoot(_config: DashboardConfig): DynamicModule {
    return {
      module: DashboardModule,
      controllers: [PageController, ApiController],
      providers: [{ provide: Clock, useValue: new Clock() }, AgencyApiClient, EventStreamClient, EventFeedService, FrViewService],
    };
  }
}
