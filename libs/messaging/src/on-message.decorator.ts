import { applyDecorators, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { BusMessages } from '@agency/contracts';
import type { JetStreamContext } from './jetstream.context.js';
import { PassThroughRpcExceptionFilter } from './passthrough-rpc.filter.js';

type HandlerDecorator<S extends keyof BusMessages> = <F extends (data: BusMessages[S], ctx: JetStreamContext) => unknown>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<F>,
) => void;

/**
 * `@EventPattern` bound to the bus catalogue: the subject must be a registered one and the
 * handler's first parameter must accept exactly that subject's envelope, checked at compile time.
 * (Nest's own typed overload widens the data to every message of the map.) It also lets the
 * handler's original error reach the transport, which decides between retry and dead letter.
 */
export function OnMessage<S extends keyof BusMessages>(subject: S): HandlerDecorator<S> {
  return applyDecorators(EventPattern<string>(subject), UseFilters(new PassThroughRpcExceptionFilter())) as unknown as HandlerDecorator<S>;
}
