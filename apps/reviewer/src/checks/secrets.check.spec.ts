import { parseUnifiedDiff } from '../diff/unified-diff.parser.js';
import { checkSecrets, findSecret, MAX_SECRET_FINDINGS, redact, redactSecrets } from './secrets.check.js';

// Assembled at run time so this file itself holds no token-shaped literal.
const GHP = `ghp_${'a1B2c3D4e5'.repeat(3)}abcdef`;

function diffAdding(lines: string[], removed: string[] = []): string {
  return [
    'diff --git a/src/config.js b/src/config.js',
    '--- a/src/config.js',
    '+++ b/src/config.js',
    `@@ -1,${1 + removed.length} +1,${1 + lines.length} @@`,
    ' export const config = {};',
    ...removed.map((l) => `-${l}`),
    ...lines.map((l) => `+${l}`),
  ].join('\n');
}

describe('findSecret', () => {
  it.each([
    ['github-token', `const t = "${GHP}";`],
    ['github-pat', `token: github_pat_${'A'.repeat(22)}_${'b'.repeat(30)}`],
    ['aws-access-key-id', `AWS_ACCESS_KEY_ID=AKIA${'ABCDEFGHIJKLMNOP'}`],
    ['aws-secret-access-key', `aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY'}EXAMPLEKEY`],
    ['openai-style-key', `OPENAI_API_KEY=sk-proj-${'abc123XYZ'.repeat(3)}`],
    ['slack-token', `const slack = 'xoxb-${'123456789012'}-abcdefABCDEF';`],
    ['private-key', '-----BEGIN RSA PRIVATE KEY-----'],
    ['private-key', '-----BEGIN OPENSSH PRIVATE KEY-----'],
    ['password-assignment', 'const dbPassword = "hunter2hunter2";'],
    ['password-assignment', '"api_key": "q8w7e6r5t4y3"'],
  ])('recognises %s', (id, line) => {
    expect(findSecret(line)?.pattern.id).toBe(id);
  });

  it.each([
    'const password = process.env.DB_PASSWORD;',
    'const password = "${DB_PASSWORD}";',
    'password: "<your password>"',
    'if (password === "hunter2hunter2") return;',
    'const csrfTokenHeader = "X-CSRF-Token";',
    'const tokenizer = "whitespace-tokenizer";',
    'const sk = "sk-learn-is-a-library-name";',
    'const greeting = `Goodbye, ${name}!`;',
  ])('does not flag %s', (line) => {
    expect(findSecret(line)).toBeUndefined();
  });

  it('redacts all but the first characters', () => {
    expect(redact(GHP)).toBe(`ghp_… (${GHP.length} chars)`);
  });
});

describe('checkSecrets', () => {
  it('reports an added secret with its file and new line number, without the value', () => {
    const result = checkSecrets(parseUnifiedDiff(diffAdding(['export const a = 1;', `export const token = "${GHP}";`])));
    expect(result.passed).toBe(false);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({ file: 'src/config.js', line: 3, severity: 'critical', blocking: true, source: 'check', check: 'secrets' });
    expect(result.findings[0]!.message).toContain('a GitHub token');
    expect(result.findings[0]!.message).not.toContain(GHP);
  });

  it('ignores a secret on a removed line: removing one is the fix', () => {
    const result = checkSecrets(parseUnifiedDiff(diffAdding(['export const token = process.env.GITHUB_TOKEN;'], [`export const token = "${GHP}";`])));
    expect(result.passed).toBe(true);
    expect(result.findings).toEqual([]);
    expect(result.detail).toBe('no secret in added lines');
  });

  it('caps the number of findings', () => {
    const lines = Array.from({ length: MAX_SECRET_FINDINGS + 5 }, (_, i) => `const k${i} = "${GHP}";`);
    const result = checkSecrets(parseUnifiedDiff(diffAdding(lines)));
    expect(result.findings).toHaveLength(MAX_SECRET_FINDINGS);
    expect(result.detail).toContain(`${MAX_SECRET_FINDINGS + 5} added line(s)`);
  });

  it('passes when there is no diff to scan', () => {
    expect(checkSecrets(undefined).passed).toBe(true);
  });
});

describe('redactSecrets', () => {
  it('replaces every secret on every diff line, added or removed, and counts them', () => {
    const text = [`+const a = "${GHP}";`, `-const b = "${GHP}"; const pw = { password: "hunter2hunter2" };`, ' const c = 1;'].join('\n');
    const out = redactSecrets(text);
    expect(out.count).toBe(3);
    expect(out.text).not.toContain(GHP);
    expect(out.text).not.toContain('hunter2hunter2');
    expect(out.text.split('\n')[0]).toBe('+const a = "[redacted github-token]";');
    expect(out.text.split('\n')[2]).toBe(' const c = 1;');
  });
});
