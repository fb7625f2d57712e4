import { BrowserAssets, forBrowser, type BrowserModule } from './browser-assets.js';

const IMPORTED = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"\n]+)['"]/g;

function codeOf(m: BrowserModule, name: string): string {
  if ('code' in m) return m.code;
  throw new Error(`${name}: ${'refused' in m ? m.refused : 'missing'}`);
}

/** Loads the page as a browser would, from /assets/app/main.js through every import (each must be served, none refused): the code by URL. */
async function loadPage(assets: BrowserAssets): Promise<Map<string, string>> {
  const fetched = new Map<string, string>();
  const queue = ['/assets/app/main.js'];
  while (queue.length) {
    const url = queue.shift()!;
    if (fetched.has(url)) continue;
    const [, folder, name] = /^\/assets\/(app|contracts)\/([^/]+)$/.exec(url) ?? [];
    if (!folder || !name) throw new Error(`the page imports ${url}, which the dashboard does not serve`);
    const code = codeOf(folder === 'app' ? await assets.module(name) : await assets.contractsModule(name), url);
    fetched.set(url, code);
    for (const [, specifier] of code.matchAll(IMPORTED)) queue.push(new URL(specifier!, `http://dashboard${url}`).pathname);
  }
  return fetched;
}

describe('BrowserAssets', () => {
  it('serves the page and every module it imports, the contracts through their browser entry, with no package import left', async () => {
    const page = await loadPage(new BrowserAssets());
    expect([...page.keys()].sort()).toEqual([
      '/assets/app/app.js',
      '/assets/app/format.js',
      '/assets/app/main.js',
      '/assets/app/workbench.js',
      '/assets/contracts/browser.js',
      '/assets/contracts/saga-rules.js',
    ]);
    expect(page.get('/assets/app/app.js')).toContain("from '/assets/contracts/browser.js'");
    // The saga's rules arrive as code, importing nothing; the API's shapes were types and compiled away.
    expect(page.get('/assets/contracts/saga-rules.js')).toContain('export function allowedActions');
    expect(page.get('/assets/contracts/saga-rules.js')).not.toMatch(/^\s*import\b/m);
    expect(page.get('/assets/contracts/browser.js')).not.toContain('dashboard-api');
  });

  it('refuses a contracts module that needs Node or decorators, and knows no module outside its folders', async () => {
    const assets = new BrowserAssets();
    expect(await assets.contractsModule('validate.js')).toEqual({ refused: expect.stringContaining('class-transformer, class-validator') });
    expect(await assets.contractsModule('orchestrator.messages.js')).toEqual({ missing: true });
    expect(await assets.contractsModule('../index.js')).toEqual({ missing: true });
    expect(await assets.module('browser-assets.js')).toEqual({ missing: true });
  });

  it('points package imports at the served paths whatever the quotes, and leaves relative ones alone', () => {
    expect(forBrowser('import { a } from "@agency/contracts/browser";\nimport { b } from "./b.js";\nexport * from \'../c.js\';', 'x.js')).toEqual({
      code: 'import { a } from "/assets/contracts/browser.js";\nimport { b } from "./b.js";\nexport * from \'../c.js\';',
    });
    expect(forBrowser("import { Injectable } from '@nestjs/common';\nconst m = import('@agency/contracts');", 'y.js')).toEqual({
      refused: 'y.js imports @nestjs/common, @agency/contracts, which a browser cannot load',
    });
  });
});
