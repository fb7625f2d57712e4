import { basicAuthHeader, headerScope } from './token-git.client.js';

describe('TokenGitClient helpers', () => {
  it('builds the Basic header GitHub’s git endpoint takes for any token', () => {
    const header = basicAuthHeader('ghp_abc');
    expect(header).toBe(`Authorization: Basic ${Buffer.from('x-access-token:ghp_abc').toString('base64')}`);
  });

  it('scopes the header to the remote’s scheme, host and port, never its path or credentials', () => {
    expect(headerScope('https://github.com/octo/greeter.git')).toBe('https://github.com/');
    expect(headerScope('http://127.0.0.1:8080/octo/greeter.git')).toBe('http://127.0.0.1:8080/');
    expect(headerScope('https://someone:pw@ghe.example.com/a/b.git')).toBe('https://ghe.example.com/');
  });

  it('refuses to send a token anywhere but http(s)', () => {
    expect(() => headerScope('/srv/forge/octo/greeter.git')).toThrow('not an absolute http(s) URL');
    expect(() => headerScope('ssh://git@github.com/octo/greeter.git')).toThrow('a token is only ever sent over HTTP(S)');
  });
});
