import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The page's modules: src/browser compiled (dist), one file each, named by a plain file name. */
const MODULE_NAME = /^[a-z][a-z0-9-]*\.js$/;

/**
 * The package imports the page's modules may make, and the module the browser loads for each
 * (PageController serves /assets/contracts/*): a browser resolves no package names, so they
 * are rewritten to these paths as they are served.
 */
const PACKAGE_IMPORTS: Record<string, string> = { '@agency/contracts/browser': '/assets/contracts/browser.js' };

/** Import and export specifiers of a compiled ES module: after `from`, after a bare `import`, and of a dynamic import call. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"\n]+)\2/g;

/** A module of the page or of the contracts, or why it cannot be served to a browser. */
export type BrowserModule = { code: string } | { missing: true } | { refused: string };

const isRelative = (specifier: string) => specifier.startsWith('./') || specifier.startsWith('../');

/**
 * The browser modules: the page's (src/browser) and the contracts' browser entry with the
 * modules it imports (libs/contracts/src), at the same places relative to this file in the
 * source tree and in dist/. Compiled `.js` in dist/; run from the source tree (tests), the `.ts`
 * is compiled with SWC on first request, as tools/build.mjs would. A module that imports a
 * package the browser cannot load (a contracts module with class-validator decorators) is
 * refused rather than served to fail in the page.
 */
export class BrowserAssets {
  private readonly cache = new Map<string, BrowserModule>();

  constructor(
    private readonly appDir = join(import.meta.dirname, '..', 'browser'),
    private readonly contractsDir = join(import.meta.dirname, '..', '..', '..', '..', 'libs', 'contracts', 'src'),
  ) {}

  /** A module of the page, `/assets/app/<name>`. */
  module(name: string): Promise<BrowserModule> {
    return this.serve(this.appDir, name);
  }

  /** A module of the contracts, `/assets/contracts/<name>`: the browser entry and what it imports. */
  contractsModule(name: string): Promise<BrowserModule> {
    return this.serve(this.contractsDir, name);
  }

  private async serve(dir: string, name: string): Promise<BrowserModule> {
    if (!MODULE_NAME.test(name)) return { missing: true };
    const key = join(dir, name);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const source = await compiled(dir, name);
    const served = source === undefined ? { missing: true as const } : forBrowser(source, name);
    this.cache.set(key, served);
    return served;
  }
}

async function compiled(dir: string, name: string): Promise<string | undefined> {
  const js = join(dir, name);
  const ts = join(dir, name.replace(/\.js$/, '.ts'));
  if (existsSync(js)) return readFileSync(js, 'utf8');
  if (!existsSync(ts)) return undefined;
  // Only in a source tree (dev and tests): @swc/core is a build tool, not shipped in images.
  const swc = await import('@swc/core');
  return (await swc.transformFile(ts, { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'es6' } })).code;
}

/** The module with its package imports pointed at served paths; refused if one is left that a browser cannot load. */
export function forBrowser(code: string, name: string): BrowserModule {
  const unknown: string[] = [];
  const rewritten = code.replace(SPECIFIER, (whole, head: string, quote: string, specifier: string) => {
    const served = PACKAGE_IMPORTS[specifier];
    if (served) return `${head}${quote}${served}${quote}`;
    if (!isRelative(specifier)) unknown.push(specifier);
    return whole;
  });
  if (unknown.length) return { refused: `${name} imports ${unknown.join(', ')}, which a browser cannot load` };
  return { code: rewritten };
}
