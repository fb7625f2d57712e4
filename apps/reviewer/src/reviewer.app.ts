import type { ServiceSpec } from '@agency/bootstrap';
import { REVIEWER_SECRETS, ReviewerConfig } from './reviewer.config.js';
import { ReviewerModule } from './reviewer.module.js';

/** The reviewer as runService starts it: main.ts in production, the medium test in-process. */
export const reviewerService: ServiceSpec<ReviewerConfig> = {
  service: 'reviewer',
  schema: ReviewerConfig,
  secrets: REVIEWER_SECRETS,
  module: (config) => ReviewerModule.forRoot(config),
};
