import type { EndpointDefaults, EndpointOptions, RequestInterface, RequestParameters, Route } from '@octokit/types';
import type { GitHubCredentials } from './github-credentials.js';

/**
 * An Octokit authentication strategy that asks GitHubCredentials for the token at every request
 * (a GitHub App's installation token changes within the process's life) and, when GitHub answers
 * 401, tells it so: the next request gets a fresh installation token instead of the refused one.
 */
export function currentTokenAuth(credentials: Pick<GitHubCredentials, 'token' | 'refused'>) {
  const auth = async () => ({ type: 'token' as const, token: await credentials.token(), tokenType: 'installation' as const });
  const hook = async (request: RequestInterface, route: Route | EndpointDefaults, parameters?: RequestParameters) => {
    const token = await credentials.token();
    const endpoint = request.endpoint.merge(route as string, parameters);
    endpoint.headers.authorization = `token ${token}`;
    try {
      return await request(endpoint as EndpointOptions);
    } catch (e) {
      if ((e as { status?: number }).status === 401) credentials.refused(token);
      throw e;
    }
  };
  return Object.assign(auth, { hook });
}
