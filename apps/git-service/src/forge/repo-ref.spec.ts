import { redactCredentials } from '../git/git.client.js';
import { checkCloneUrl, repoRef } from './repo-ref.js';

describe('repoRef', () => {
  it('splits owner/name', () => {
    expect(repoRef({ name: 'example/greeter', cloneUrl: '/f/example/greeter.git', base: 'main', forge: 'local' })).toMatchObject({
      owner: 'example',
      repo: 'greeter',
    });
  });

  it.each(['greeter', 'a/b/c', '../greeter', 'example/..', 'example/.hidden', 'example/greeter.git', 'ex ample/greeter', ''])('refuses "%s"', (name) => {
    expect(() => repoRef({ name, cloneUrl: '/x', base: 'main', forge: 'local' })).toThrow(/must be "<owner>\/<name>"/);
  });
});

describe('checkCloneUrl', () => {
  it.each(['/srv/forge/a/b.git', 'file:///srv/a.git', 'https://github.com/a/b.git', 'git@github.com:a/b.git'])('accepts %s', (url) => {
    expect(() => checkCloneUrl(url)).not.toThrow();
  });

  it.each(['ext::sh -c touch% /tmp/pwned', '--upload-pack=touch /tmp/x', 'fd::3', 'a\nb'])('refuses %s', (url) => {
    expect(() => checkCloneUrl(url)).toThrow(/refused/);
  });
});

describe('redactCredentials', () => {
  it('hides user and token in URLs wherever they appear', () => {
    expect(redactCredentials('git push https://x-access-token:ghs_secret@github.com/a/b.git failed; fetch http://u@h/r')).toBe(
      'git push https://***@github.com/a/b.git failed; fetch http://***@h/r',
    );
    expect(redactCredentials('/srv/forge/a.git')).toBe('/srv/forge/a.git');
  });
});
