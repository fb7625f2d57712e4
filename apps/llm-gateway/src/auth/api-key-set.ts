import { createHash, hash, timingSafeEqual } from 'node:crypto';

/** Secrets shorter than this are refused: gateway keys guard paid vendor accounts. */
export const MIN_SECRET_LENGTH = 16;
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The hex sha256 of a secret, as llm.keys.<id>.sha256 stores it (one-shot hash: a third of createHash's cost, on every request). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/**
 * The gateway's API keys, parsed from GATEWAY_API_KEYS (`id:secret,id:secret`). Only the id and
 * the sha256 of each secret are kept; a presented key is hashed and compared in constant time.
 * Problems never quote a secret.
 */
export class ApiKeySet {
  private constructor(
    private readonly entries: ReadonlyArray<{ id: string; hash: Buffer }>,
    readonly problems: readonly string[],
  ) {}

  static parse(text: string): ApiKeySet {
    const entries: { id: string; hash: Buffer }[] = [];
    const problems: string[] = [];
    const parts = text.split(',').map((p) => p.trim());
    parts.forEach((part, i) => {
      const where = `entry ${i + 1} of ${parts.length}`;
      const colon = part.indexOf(':');
      if (colon < 0) return problems.push(`${where} must look like id:secret`);
      const id = part.slice(0, colon);
      const secret = part.slice(colon + 1);
      if (!KEY_ID.test(id)) return problems.push(`${where}: the id may only contain letters, digits, "_", "." and "-" (1-64 characters)`);
      if (secret.length < MIN_SECRET_LENGTH) return problems.push(`${where} ("${id}"): the secret must be at least ${MIN_SECRET_LENGTH} characters`);
      if (entries.some((e) => e.id === id)) return problems.push(`${where}: the id "${id}" is used twice`);
      entries.push({ id, hash: sha256(secret) });
    });
    return new ApiKeySet(entries, problems);
  }

  get ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  /** The id of the key `presented` is, or undefined. Every entry is compared, match or not. */
  verify(presented: string): string | undefined {
    const hash = sha256(presented);
    let found: string | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.hash, hash) && found === undefined) found = e.id;
    return found;
  }

  /** id -> hex sha256 of the secret, for the key ring (never printed). */
  hashes(): Array<{ id: string; sha256: string }> {
    return this.entries.map((e) => ({ id: e.id, sha256: e.hash.toString('hex') }));
  }

  /** Never print hashes either (they would allow offline guessing of weak secrets). */
  toJSON(): string {
    return `[${this.entries.length} key(s): ${this.ids.join(', ')}]`;
  }
}
