// End-to-end tests: the built services as separate processes over a real nats-server.
import { defineConfig } from 'vitest/config';
import { aliases, swcPlugin } from './vitest.shared.mts';

export default defineConfig({
  plugins: [swcPlugin()],
  resolve: { alias: aliases },
  test: {
    name: 'e2e',
    root: import.meta.dirname,
    include: ['e2e/tests/**/*.e2e.spec.ts'],
    environment: 'node',
    globals: true,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
