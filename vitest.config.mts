// Unit tests: *.spec.ts beside the code; fakes only, no external processes.
import { defineConfig } from 'vitest/config';
import { projects } from './vitest.shared.mts';

export default defineConfig({
  test: {
    projects: projects(['src/**/*.spec.ts']),
    passWithNoTests: true,
  },
});
