import { createHash } from 'node:crypto';

/** Token counts of one request as a vendor with a prompt cache reports them. */
export interface CacheUsage {
  /** Every input token (the way this file counts), cached or not. */
  totalTokens: number;
  readTokens: number;
  writeTokens: number;
}

/** Prefixes a vendor has cached: the hash of the prompt up to a block, and its length in tokens. */
export type PromptCacheStore = Map<string, number>;

/** The smallest prompt either vendor caches (Anthropic's Sonnet, OpenAI's automatic cache). */
export const MIN_CACHED_TOKENS = 1024;
/** How far back from a breakpoint Anthropic looks for an earlier cached prefix (in blocks). */
const LOOKBACK_BLOCKS = 20;

const tokensOf = (unit: unknown) => Math.ceil(JSON.stringify(unit).length / 4);

/** The prompt as a list of blocks, each with whether it carries a breakpoint, markers removed. */
interface Unit {
  json: string;
  tokens: number;
  marked: boolean;
}

function unit(value: Record<string, unknown>): Unit {
  const { cache_control: mark, ...rest } = value;
  return { json: JSON.stringify(rest), tokens: tokensOf(rest), marked: mark !== undefined };
}

/** Cumulative tokens and a hash chain over the units: prefix i covers units 0..i. */
function prefixes(units: Unit[]): Array<{ hash: string; tokens: number }> {
  let hash = '';
  let tokens = 0;
  return units.map((u) => {
    hash = createHash('sha256').update(hash).update(u.json).digest('hex');
    tokens += u.tokens;
    return { hash, tokens };
  });
}

function anthropicUnits(body: Record<string, unknown>): Unit[] {
  const units: Unit[] = [];
  for (const t of (body.tools as Array<Record<string, unknown>> | undefined) ?? []) units.push(unit(t));
  const system = body.system;
  if (typeof system === 'string') units.push(unit({ type: 'text', text: system }));
  else if (Array.isArray(system)) for (const b of system as Array<Record<string, unknown>>) units.push(unit(b));
  for (const m of body.messages as Array<{ role: string; content: unknown }>) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as Array<Record<string, unknown>>);
    // The role is part of what is cached: a block opens each message.
    units.push(unit({ role: m.role }));
    for (const b of blocks) units.push(unit(b));
  }
  return units;
}

/**
 * Anthropic's prompt cache, as its documentation describes it: only prefixes ending at a block with
 * cache_control are written (when at least MIN_CACHED_TOKENS long); a request reads the longest
 * cached prefix ending at one of its breakpoints or up to 20 blocks before one; input_tokens are
 * the rest. Without breakpoints nothing is cached.
 */
export function anthropicCacheUsage(body: Record<string, unknown>, store: PromptCacheStore): CacheUsage {
  const units = anthropicUnits(body);
  const chain = prefixes(units);
  const totalTokens = chain.at(-1)?.tokens ?? 0;
  const breakpoints = units.flatMap((u, i) => (u.marked ? [i] : []));
  let readTokens = 0;
  for (const b of breakpoints) {
    for (let j = b; j >= Math.max(0, b - LOOKBACK_BLOCKS); j -= 1) {
      if (store.has(chain[j]!.hash)) {
        readTokens = Math.max(readTokens, chain[j]!.tokens);
        break;
      }
    }
  }
  const last = breakpoints.at(-1);
  let writeTokens = 0;
  if (last !== undefined && chain[last]!.tokens >= MIN_CACHED_TOKENS) {
    writeTokens = Math.max(0, chain[last]!.tokens - readTokens);
    for (const b of breakpoints) if (chain[b]!.tokens >= MIN_CACHED_TOKENS) store.set(chain[b]!.hash, chain[b]!.tokens);
  }
  return { totalTokens, readTokens, writeTokens };
}

/**
 * OpenAI's automatic prompt cache: a prompt of at least 1024 tokens reads the longest prefix an
 * earlier request had (tools, then message by message), counted in steps of 128 tokens; nothing is
 * billed for writing.
 */
export function openAiCacheUsage(body: Record<string, unknown>, store: PromptCacheStore): CacheUsage {
  const units = [...(body.tools ? [unit({ tools: body.tools })] : []), ...(body.messages as Array<Record<string, unknown>>).map(unit)];
  const chain = prefixes(units);
  const totalTokens = chain.at(-1)?.tokens ?? 0;
  let hit = 0;
  for (const p of chain) if (store.has(p.hash)) hit = p.tokens;
  const readTokens = totalTokens >= MIN_CACHED_TOKENS && hit >= MIN_CACHED_TOKENS ? Math.floor(hit / 128) * 128 : 0;
  for (const p of chain) if (p.tokens >= MIN_CACHED_TOKENS) store.set(p.hash, p.tokens);
  return { totalTokens, readTokens, writeTokens: 0 };
}

/** Where an Anthropic request body carries breakpoints: "tools[1]", "system[0]", "messages[2].content[0]". */
export function breakpointsOf(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  (body.tools as Array<Record<string, unknown>> | undefined)?.forEach((t, i) => t.cache_control && out.push(`tools[${i}]`));
  if (Array.isArray(body.system)) (body.system as Array<Record<string, unknown>>).forEach((b, i) => b.cache_control && out.push(`system[${i}]`));
  (body.messages as Array<{ content: unknown }>).forEach((m, i) => {
    if (Array.isArray(m.content)) (m.content as Array<Record<string, unknown>>).forEach((b, j) => b.cache_control && out.push(`messages[${i}].content[${j}]`));
  });
  return out;
}
