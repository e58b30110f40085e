import { defineConfig } from 'vitest/config';

/** `npx vitest run --config bench/kitchen/vitest.config.ts`: the 7-Scenes pose proxy (not part of npm test). */
export default defineConfig({ test: { include: ['bench/kitchen/*.test.ts'], environment: 'node', testTimeout: 3_600_000 } });
