// One place that knows how tests are compiled and where projects live, so the
// unit, medium and e2e configs only differ in which files they pick up.
import { readdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const root = import.meta.dirname;

// Mirrors tsconfig.base.json paths: `@agency/<lib>` and secondary entries `@agency/<lib>/<entry>`.
export const aliases = readdirSync(resolve(root, 'libs')).flatMap((lib) => [
  { find: new RegExp(`^@agency/${lib}$`), replacement: resolve(root, 'libs', lib, 'src/index.ts') },
  { find: new RegExp(`^@agency/${lib}/([a-z-]+)$`), replacement: resolve(root, 'libs', lib, 'src/$1.ts') },
]);

// SWC instead of esbuild: NestJS needs emitDecoratorMetadata, which esbuild cannot produce.
export const swcPlugin = () =>
  swc.vite({
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
      keepClassNames: true,
    },
    module: { type: 'es6' },
  });

export function projectDirs(): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = [];
  for (const group of ['apps', 'libs']) {
    const base = resolve(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) out.push({ name, dir: resolve(base, name) });
  }
  return out;
}

export function projects(include: string[], overrides: Partial<TestProjectInlineConfiguration['test']> = {}): TestProjectInlineConfiguration[] {
  return projectDirs().map(({ name, dir }) => ({
    plugins: [swcPlugin()],
    resolve: { alias: aliases },
    test: {
      name,
      root: dir,
      include,
      environment: 'node',
      globals: true,
      ...overrides,
    },
  }));
}
