import { Module, type DynamicModule } from '@nestjs/common';
import { ForgeFilesClient } from './forge/forge-files.client.js';
import { ForgeRegistry } from './forge/forge.registry.js';
import { LocalForge } from './forge/local-forge.service.js';
import { PrRecordStore } from './forge/pr-record.store.js';
import type { GitServiceConfig } from './git-service.config.js';
import { GitClient } from './git/git.client.js';
import { TokenGitClient } from './git/token-git.client.js';
import { GitHubApiClient } from './github/github-api.client.js';
import { GitHubCredentials } from './github/github-credentials.js';
import { GitHubPrPoller } from './github/pr-poller.service.js';
import { PrNewsPublisher } from './github/pr-news.publisher.js';
import { GitHubForge } from './github/github-forge.service.js';
import { MirrorService } from './git/mirror.service.js';
import { MirrorHttpServer } from './mirror-http/mirror-http.server.js';
import { ServedMirrors } from './mirror-http/served-mirrors.service.js';
import { RepoLocks } from './git/repo-locks.js';
import { MergePrHandler } from './handlers/merge-pr.handler.js';
import { OpenPrHandler } from './handlers/open-pr.handler.js';
import { PrCleanupHandler } from './handlers/pr-cleanup.handler.js';
import { LocalPullsController } from './http/local-pulls.controller.js';
import { PrEventsPublisher } from './pr/pr-events.publisher.js';
import { PrOriginStore } from './pr/pr-origin.store.js';
import { PullRequestService } from './pr/pull-request.service.js';
import { ForgeConfigRepository } from './vault/forge-config.repository.js';
import { GitHubWebhookService } from './webhooks/github-webhook.service.js';
import { GitHubWebhooksController } from './webhooks/github-webhooks.controller.js';

@Module({})
export class GitServiceModule {
  static forRoot(_config: GitServiceConfig): DynamicModule {
    return {
      module: GitServiceModule,
      controllers: [OpenPrHandler, MergePrHandler, PrCleanupHandler, LocalPullsController, GitHubWebhooksController],
      providers: [
        PullRequestService,
        PrEventsPublisher,
        ForgeRegistry,
        LocalForge,
        GitHubForge,
        GitHubApiClient,
        GitHubCredentials,
        GitHubPrPoller,
        PrNewsPublisher,
        GitHubWebhookService,
        PrOriginStore,
        PrRecordStore,
        ForgeFilesClient,
        MirrorService,
        ServedMirrors,
        MirrorHttpServer,
        GitClient,
        TokenGitClient,
        RepoLocks,
        ForgeConfigRepository,
      ],
    };
  }
}
