import { randomBytes } from 'node:crypto';
import { BUS_ADMIN_USER, BUS_USERS, busPermissions, type BusUser } from '@agency/messaging';

/** One principal's NATS credentials. */
export interface NatsCredentials {
  user: string;
  password: string;
}

export type NatsPrincipal = BusUser | typeof BUS_ADMIN_USER;
export const NATS_PRINCIPALS: readonly NatsPrincipal[] = [...BUS_USERS, BUS_ADMIN_USER];

/** The variable nats-server reads a principal's password from: `NATS_PASSWORD_AGENT_RUNNER`. */
export function passwordVariable(user: NatsPrincipal): string {
  return `NATS_PASSWORD_${user.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * nats-server parses the value of a variable its configuration names as a configuration value, not
 * as a string: one starting with a digit is read as a number and fails ("Expected a digit"),
 * `true` becomes a boolean. A password must therefore be a plain identifier that starts with a letter.
 */
export const NATS_PASSWORD_FORMAT = /^[A-Za-z][A-Za-z0-9_]{15,}$/;

/** Fresh random credentials for every principal (the local stack makes new ones at each start). */
export function generateNatsCredentials(): Record<NatsPrincipal, NatsCredentials> {
  return Object.fromEntries(NATS_PRINCIPALS.map((user) => [user, { user, password: `natspw_${randomBytes(24).toString('hex')}` }])) as Record<
    NatsPrincipal,
    NatsCredentials
  >;
}

/** A list of subjects, one a line, at `indent`. */
const list = (name: string, subjects: string[], indent: string) => [
  `${indent}${name}: [`,
  ...subjects.map((s) => `${indent}  ${JSON.stringify(s)}`),
  `${indent}]`,
];

/**
 * nats-server's `authorization` block for the agency: a user per principal with the permissions
 * of libs/messaging's table, the admin without limits. Passwords are not in it: each is read from
 * the variable `passwordVariable(user)` of nats-server's environment, so the file holds no secret
 * (the local stack passes them to its nats-server; deploy/k8s takes them from the Secret agency-nats).
 */
export function renderNatsAuthorization(): string {
  const lines = [
    '# Generated from libs/messaging/src/bus-permissions.ts by libs/stack (renderNatsAuthorization):',
    '# do not edit. `node tools/nats-auth-config.mjs` rewrites deploy/k8s/base/nats/auth.conf.',
    '# Passwords come from the environment of nats-server: NATS_PASSWORD_<USER>.',
    'authorization {',
    '  users: [',
  ];
  for (const user of BUS_USERS) {
    const p = busPermissions(user);
    lines.push(
      '    {',
      `      user: ${JSON.stringify(user)}`,
      `      password: $${passwordVariable(user)}`,
      '      permissions: {',
      '        publish: {',
      ...list('allow', p.publish.allow, '          '),
      ...(p.publish.deny.length > 0 ? list('deny', p.publish.deny, '          ') : []),
      '        }',
      '        subscribe: {',
      ...list('allow', p.subscribe.allow, '          '),
      '        }',
      '      }',
      '    }',
    );
  }
  lines.push(
    '    # Operators (backups, the replicas job, tests that read everything): no limits.',
    `    { user: ${JSON.stringify(BUS_ADMIN_USER)}, password: $${passwordVariable(BUS_ADMIN_USER)} }`,
    '  ]',
    '}',
    '',
  );
  return lines.join('\n');
}

/** nats-server's environment entries for the passwords its authorization block names. */
export function natsPasswordEnv(credentials: Record<NatsPrincipal, NatsCredentials>): Record<string, string> {
  return Object.fromEntries(NATS_PRINCIPALS.map((u) => [passwordVariable(u), credentials[u].password]));
}
