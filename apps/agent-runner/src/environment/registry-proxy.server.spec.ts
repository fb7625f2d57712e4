import { isAllowed } from './registry-proxy.server.js';

describe('isAllowed (the registry proxy allowlist)', () => {
  const allow = ['registry.npmjs.org', '*.pythonhosted.org', 'npm.internal:8443', '172.17.0.1:4873'];

  it('lets listed hosts through on 80 and 443, and a listed port only where named', () => {
    expect(isAllowed(allow, 'registry.npmjs.org', 443)).toBe(true);
    expect(isAllowed(allow, 'REGISTRY.npmjs.org.', 80)).toBe(true);
    expect(isAllowed(allow, 'registry.npmjs.org', 22)).toBe(false);
    expect(isAllowed(allow, 'npm.internal', 8443)).toBe(true);
    expect(isAllowed(allow, 'npm.internal', 443)).toBe(false);
    expect(isAllowed(allow, '172.17.0.1', 4873)).toBe(true);
  });

  it('matches a wildcard below its domain only, and nothing else', () => {
    expect(isAllowed(allow, 'files.pythonhosted.org', 443)).toBe(true);
    expect(isAllowed(allow, 'pythonhosted.org', 443)).toBe(false);
    expect(isAllowed(allow, 'evilpythonhosted.org', 443)).toBe(false);
    expect(isAllowed(allow, 'registry.npmjs.org.evil.com', 443)).toBe(false);
    expect(isAllowed(allow, 'evil.com', 443)).toBe(false);
    expect(isAllowed(allow, '104.16.0.1', 443)).toBe(false);
    expect(isAllowed([], 'registry.npmjs.org', 443)).toBe(false);
  });
});
