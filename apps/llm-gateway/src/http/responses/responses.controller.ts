import { Controller, Get, NotFoundException, Param, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeyGuard, callerOf } from '../../auth/api-key.guard.js';
import { ResponseStore } from '../../responses/response.store.js';

/** OpenAI's `GET /v1/responses/{id}`: a response made with store (by the same key, on this replica, while it is kept). */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly store: ResponseStore) {}

  @Get('responses/:id')
  get(@Param('id') id: string, @Req() request: FastifyRequest): object {
    const stored = this.store.response(id, callerOf(request)?.id ?? '');
    if (!stored) throw new NotFoundException(`No response with id '${id}' is stored on this gateway (it keeps recent responses made with store: true)`);
    return stored.response;
  }
}
