import { Controller, Get, Param, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ModelInfo } from '@anthropic-ai/sdk/resources/models';
import type { Model } from 'openai/resources/models';
import { ApiKeyGuard, callerOf } from '../../auth/api-key.guard.js';
import { ChatService, UnknownModelError } from '../../chat/chat.service.js';

function model(id: string): Model {
  return { id, object: 'model', created: 0, owned_by: 'agency' };
}

/** Anthropic's form of a model, for its SDK (which sends anthropic-version). */
function anthropicModel(id: string): ModelInfo {
  return {
    type: 'model',
    id,
    display_name: id,
    created_at: '1970-01-01T00:00:00Z',
    capabilities: null,
    deprecated_at: null,
    lifecycle: 'active',
    line: null,
    max_input_tokens: null,
    max_tokens: null,
    retires_at: null,
  };
}

const fromAnthropic = (request: FastifyRequest) => request.headers['anthropic-version'] !== undefined;

/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the aliases the caller's key may use (callers never
 * name vendor models), in OpenAI's format, or in Anthropic's for a request with anthropic-version.
 */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly chat: ChatService) {}

  @Get('models')
  list(@Req() request: FastifyRequest): object {
    const aliases = this.chat.aliases(callerOf(request));
    if (!fromAnthropic(request)) return { object: 'list', data: aliases.map(model) };
    return { data: aliases.map(anthropicModel), has_more: false, first_id: aliases[0] ?? null, last_id: aliases.at(-1) ?? null };
  }

  @Get('models/:id')
  get(@Param('id') id: string, @Req() request: FastifyRequest): Model | ModelInfo {
    const aliases = this.chat.aliases(callerOf(request));
    if (!aliases.includes(id)) throw new UnknownModelError(id, aliases);
    return fromAnthropic(request) ? anthropicModel(id) : model(id);
  }
}
