import { Controller, Get, Param, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Model } from 'openai/resources/models';
import { ApiKeyGuard, callerOf } from '../../auth/api-key.guard.js';
import { ChatService, UnknownModelError } from '../../chat/chat.service.js';

function model(id: string): Model {
  return { id, object: 'model', created: 0, owned_by: 'agency' };
}

/** OpenAI's `GET /v1/models`: the aliases the caller's key may use (callers never name vendor models). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly chat: ChatService) {}

  @Get('models')
  list(@Req() request: FastifyRequest): { object: 'list'; data: Model[] } {
    return { object: 'list', data: this.chat.aliases(callerOf(request)).map(model) };
  }

  @Get('models/:id')
  get(@Param('id') id: string, @Req() request: FastifyRequest): Model {
    const aliases = this.chat.aliases(callerOf(request));
    if (!aliases.includes(id)) throw new UnknownModelError(id, aliases);
    return model(id);
  }
}
