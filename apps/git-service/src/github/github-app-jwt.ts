import { createPrivateKey, sign, type KeyObject } from 'node:crypto';

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/**
 * The JSON Web Token a GitHub App authenticates as itself with (RS256, signed with the app's
 * private key): issued a minute in the past against clock drift, valid nine minutes (GitHub takes
 * at most ten), `iss` the app's id. It is good only for asking for installation tokens.
 */
export function appJwt(appId: string, key: KeyObject, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now - 60, exp: now + 540, iss: appId }));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${base64url(signature)}`;
}

/** The app's private key (PEM, as GitHub hands it out: PKCS#1 or PKCS#8); a newline written as `\n` in an env file is read as one. */
export function appPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem.includes('\\n') && !pem.includes('\n') ? pem.replaceAll('\\n', '\n') : pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`GITHUB_APP_PRIVATE_KEY is a ${key.asymmetricKeyType} key; a GitHub App key is RSA`);
  return key;
}
