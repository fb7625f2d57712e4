import { BadGatewayException, BadRequestException, ConflictException, HttpException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { AgencyConfigError } from '@agency/vault';
import { ForgeError } from '../forge/forge.errors.js';

/** A forge failure as an HTTP answer: `{ statusCode, error: <code>, message }`. */
export function httpErrorOf(e: unknown): unknown {
  if (e instanceof ForgeError) {
    const body = (statusCode: number) => ({ statusCode, error: e.code, message: e.message });
    switch (e.kind) {
      case 'invalid':
        return new BadRequestException(body(400));
      case 'not-found':
        return new NotFoundException(body(404));
      case 'conflict':
        return new ConflictException(body(409));
      case 'unavailable':
        return new ServiceUnavailableException(body(503));
    }
  }
  if (e instanceof AgencyConfigError) return new HttpException({ statusCode: 500, error: 'AGENCY_CONFIG_INVALID', message: e.message }, 500);
  return e;
}

export async function asHttp<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw httpErrorOf(e);
  }
}

/** The forge changed but the saga was not told: the caller repeats the request to re-send. */
export function announceFailed(what: string, e: unknown): HttpException {
  return new BadGatewayException({
    statusCode: 502,
    error: 'ANNOUNCE_FAILED',
    message: `${what}, but publishing the event failed (${(e as Error).message}); repeat the request to send it again`,
  });
}
