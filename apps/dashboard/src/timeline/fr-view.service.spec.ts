import { Clock } from '@agency/messaging';
import { DashboardConfig } from '../dashboard.config.js';
import type { EventFeedService } from '../events/event-feed.service.js';
import { FrViewService } from './fr-view.service.js';

const feed = { stepCosts: () => new Map(), eventsOf: () => [] } as unknown as EventFeedService;

function view(template?: string): FrViewService {
  const config = Object.assign(new DashboardConfig(), template ? { TRACE_URL_TEMPLATE: template } : {});
  return new FrViewService(config, feed, new Clock());
}

describe('FrViewService links', () => {
  it('opens local-forge PRs through the dashboard and forge PRs where they are', () => {
    const v = view();
    expect(v.prLink('local://example/greeter/pulls/12')).toBe('/forge/local/repos/example/greeter/pulls/12');
    expect(v.prLink('https://github.com/o/r/pull/3')).toBe('https://github.com/o/r/pull/3');
    expect(v.prLink('javascript:alert(1)')).toBeUndefined();
    expect(v.prLink(undefined)).toBeUndefined();
  });

  it('links the trace only when a template is configured', () => {
    expect(view().traceLink('abc')).toBeUndefined();
    expect(view('http://jaeger:16686/trace/{traceId}').traceLink('4bf92f35')).toBe('http://jaeger:16686/trace/4bf92f35');
    expect(view('http://g/explore?q={traceId}&x={traceId}').links(undefined, 'ab')).toEqual({ trace: 'http://g/explore?q=ab&x=ab' });
  });
});
