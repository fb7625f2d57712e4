import { busPermissions } from '@agency/messaging';
import { generateNatsCredentials, NATS_PASSWORD_FORMAT, NATS_PRINCIPALS, natsPasswordEnv, passwordVariable, renderNatsAuthorization } from './nats-auth.js';

describe('the nats-server authorization block', () => {
  const text = renderNatsAuthorization();

  it('has a user per principal, each password a reference to the environment, never a value', () => {
    for (const user of NATS_PRINCIPALS) {
      expect(text).toContain(`user: "${user}"`);
      expect(text).toContain(`password: $${passwordVariable(user)}`);
    }
    expect(text.match(/password:/g)).toHaveLength(NATS_PRINCIPALS.length);
    expect(passwordVariable('agent-runner')).toBe('NATS_PASSWORD_AGENT_RUNNER');
  });

  it("lists each user's subjects from the permission table, and gives the admin none (no limits)", () => {
    const router = text.slice(text.indexOf('user: "router"'), text.indexOf('user: "registry"'));
    for (const s of busPermissions('router').publish.allow) expect(router).toContain(`"${s}"`);
    expect(router).toContain('"_INBOX.router.>"');
    expect(text).toMatch(/\{ user: "admin", password: \$NATS_PASSWORD_ADMIN \}/);
  });

  it('generates a distinct random password per principal and hands nats-server each under its variable', () => {
    const a = generateNatsCredentials();
    const b = generateNatsCredentials();
    const passwords = NATS_PRINCIPALS.map((u) => a[u].password);
    expect(new Set(passwords).size).toBe(NATS_PRINCIPALS.length);
    expect(passwords.every((p) => p.length >= 32)).toBe(true);
    // nats-server would read a password starting with a digit as a number and refuse to start.
    for (let i = 0; i < 50; i += 1) for (const c of Object.values(generateNatsCredentials())) expect(c.password).toMatch(NATS_PASSWORD_FORMAT);
    expect(a.router.password).not.toBe(b.router.password);
    expect(natsPasswordEnv(a)).toMatchObject({ NATS_PASSWORD_ROUTER: a.router.password, NATS_PASSWORD_ADMIN: a.admin.password });
  });
});
