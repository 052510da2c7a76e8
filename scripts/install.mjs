// npm's install step for kindred: use a prebuilt addon when one fits this platform, otherwise build
// from source with cmake-js. Set KINDRED_BUILD_FROM_SOURCE=1 to always build, KINDRED_SKIP_BUILD=1
// to do nothing (e.g. when packaging).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const env = process.env;

function platformPackage() {
  const libc = process.platform === 'linux' ? (process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
  return `kindred-${process.platform}-${process.arch}${libc}`;
}

function tryLoad(path) {
  try {
    require(path);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

if (env.KINDRED_SKIP_BUILD === '1') process.exit(0);

if (env.KINDRED_BUILD_FROM_SOURCE !== '1') {
  const pkg = platformPackage();
  let prebuilt = null;
  try {
    prebuilt = require.resolve(`${pkg}/kindred.node`);
  } catch {
    // not installed: npm skips optional platform packages that do not match this machine
  }
  if (prebuilt) {
    const failure = tryLoad(prebuilt);
    if (!failure) {
      console.log(`kindred: using the prebuilt addon from ${pkg}`);
      process.exit(0);
    }
    console.warn(`kindred: the prebuilt addon in ${pkg} does not load here (${failure}); building from source`);
  }
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const which = spawnSync('cmake', ['--version'], { stdio: 'ignore' });
if (which.error || which.status !== 0) {
  console.error(
    [
      `kindred: no prebuilt addon fits ${process.platform}-${process.arch}, and building it needs CMake, which is not on PATH.`,
      'Fixes:',
      '  - install CMake and a C++17 compiler (Debian/Ubuntu: apt-get install cmake g++), optionally libopenblas-dev for the fast CPU backend;',
      `  - or install the prebuilt package for this platform (${platformPackage()}) if one is published.`,
    ].join('\n'),
  );
  process.exit(1);
}
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
if (!existsSync(join(root, 'build', 'Release', 'kindred.node'))) {
  console.error('kindred: cmake-js finished but build/Release/kindred.node is missing');
  process.exit(1);
}
