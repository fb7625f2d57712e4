import { errors } from '@nats-io/transport-node';

const PREFIX = 'Permissions Violation for Publish to ';

/**
 * The server's refusal of a publish: nats.js rejects the request or publish whose subject the
 * server refused, with its permission violation as the error or its cause. `subject` is the exact
 * subject, or a pattern for one holding a name the client made up (a consumer's).
 */
export async function expectRefused(p: Promise<unknown>, subject: string | RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, `publishing to ${String(subject)} must be refused`).toBeInstanceOf(Error);
  const cause = e instanceof errors.PermissionViolationError ? e : (e!.cause as Error | undefined);
  expect(cause).toBeInstanceOf(errors.PermissionViolationError);
  expect((cause as InstanceType<typeof errors.PermissionViolationError>).operation).toBe('publish');
  if (typeof subject === 'string') expect(cause!.message).toBe(`${PREFIX}"${subject}"`);
  else expect(cause!.message.slice(PREFIX.length)).toMatch(subject);
}
