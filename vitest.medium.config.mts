// Medium tests: real NATS, git, file system, HTTP; each test file owns its own dependencies.
import { defineConfig } from 'vitest/config';
import { projects } from './vitest.shared.mts';

export default defineConfig({
  test: {
    projects: projects(['test/**/*.medium.spec.ts'], { testTimeout: 60_000, hookTimeout: 60_000 }),
    passWithNoTests: true,
    fileParallelism: false,
  },
});
