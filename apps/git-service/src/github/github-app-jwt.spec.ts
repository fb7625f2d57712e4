import { generateKeyPairSync, verify } from 'node:crypto';
import { appJwt, appPrivateKey } from './github-app-jwt.js';

describe('appJwt', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

  it('is an RS256 JWT GitHub takes: issued a minute back, nine minutes to live, the app id as issuer, signed by the app key', () => {
    const jwt = appJwt('1234', appPrivateKey(pem), 1_700_000_000_000);
    const [h, p, sig] = jwt.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ iat: 1_700_000_000 - 60, exp: 1_700_000_000 + 540, iss: '1234' });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig!, 'base64url'))).toBe(true);
  });

  it('reads the key with its newlines written as \\n (an env file) and refuses a key that is not RSA', () => {
    expect(appPrivateKey(pem.replaceAll('\n', '\\n')).asymmetricKeyType).toBe('rsa');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => appPrivateKey(ec)).toThrow('a GitHub App key is RSA');
  });
});
