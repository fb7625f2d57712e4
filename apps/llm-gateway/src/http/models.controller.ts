import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import type { Model } from 'openai/resources/models';
import { ApiKeyGuard } from '../auth/api-key.guard.js';
import { ChatService, UnknownModelError } from '../chat/chat.service.js';

function model(id: string): Model {
  return { id, object: 'model', created: 0, owned_by: 'agency' };
}

/** OpenAI's `GET /v1/models`: the aliases agency.yaml defines (callers never name vendor models). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly chat: ChatService) {}

  @Get('models')
  list(): { object: 'list'; data: Model[] } {
    return { object: 'list', data: this.chat.aliases().map(model) };
  }

  @Get('models/:id')
  get(@Param('id') id: string): Model {
    const aliases = this.chat.aliases();
    if (!aliases.includes(id)) throw new UnknownModelError(id, aliases);
    return model(id);
  }
}
