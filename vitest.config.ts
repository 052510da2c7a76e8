import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['ts/test/**/*.test.ts'],
    testTimeout: 60_000,
    // Native calls use both cores; running test files one at a time keeps timings honest.
    fileParallelism: false,
  },
});
