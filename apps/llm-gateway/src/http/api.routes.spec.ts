import { errorBodyFor } from './api-exception.filter.js';
import { shuttingDownError } from './api.routes.js';

describe('shuttingDownError', () => {
  it('is a 503 telling the client to come back on another connection, in the format of the route', () => {
    const e = shuttingDownError();
    expect(e.getStatus()).toBe(503);
    expect(e.headers).toEqual({ 'retry-after': '1', connection: 'close' });
    expect(errorBodyFor('/v1/chat/completions', e)).toEqual({
      error: { message: expect.stringContaining('shutting down') as string, type: 'server_error', param: null, code: 'shutting_down' },
    });
    expect(errorBodyFor('/v1/messages', e)).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: expect.stringContaining('shutting down') as string },
    });
  });
});
