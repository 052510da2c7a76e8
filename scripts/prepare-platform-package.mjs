// Prepares the prebuilt platform package npm/linux-x64-gnu (kindred-linux-x64-gnu) for packing or
// publishing: copies build/Release/kindred.node into it, checks that the copy loads and that its
// listBackends() returns an array, and sets the package's version to the root package's version.
//
//   node scripts/prepare-platform-package.mjs                  (npm run package:platform)
//   node scripts/prepare-platform-package.mjs --release        also list kindred-linux-x64-gnu in the
//                                                              root package.json's optionalDependencies
//   node scripts/prepare-platform-package.mjs --release --manifest <dir>/package.json
//                                                              ... in that package.json instead (pack-check)
//
// Why --release: an optionalDependency that is not on the registry yet cannot be locked, and then
// `npm ci` refuses to run ("Missing: kindred-linux-x64-gnu@ from lock file"). So the root
// package.json lists it only from the release on; see binding.gyp-free/README.md.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PLATFORM_PACKAGE = 'kindred-linux-x64-gnu';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'build', 'Release', 'kindred.node');
const packageDir = join(root, 'npm', 'linux-x64-gnu');
const target = join(packageDir, 'kindred.node');

function fail(message) {
  console.error(`prepare-platform-package: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { release: false, manifest: join(root, 'package.json') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--release') options.release = true;
    else if (arg === '--manifest' && argv[i + 1]) options.manifest = resolve(argv[++i]);
    else if (arg.startsWith('--manifest=')) options.manifest = resolve(arg.slice('--manifest='.length));
    else fail(`unknown argument '${arg}' (expected --release [--manifest <package.json>])`);
  }
  return options;
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

// Writes only when the content changes, in npm's own format (2 spaces, trailing newline).
function writeJson(path, value) {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  writeFileSync(path, text);
  return true;
}

// Returns a copy of manifest with optionalDependencies[PLATFORM_PACKAGE] = version, placed right
// after "dependencies" when the manifest has no optionalDependencies yet.
function withOptionalDependency(manifest, version) {
  if (manifest.optionalDependencies) {
    return { ...manifest, optionalDependencies: { ...manifest.optionalDependencies, [PLATFORM_PACKAGE]: version } };
  }
  const out = {};
  for (const [key, value] of Object.entries(manifest)) {
    out[key] = value;
    if (key === 'dependencies') out.optionalDependencies = { [PLATFORM_PACKAGE]: version };
  }
  if (!out.optionalDependencies) out.optionalDependencies = { [PLATFORM_PACKAGE]: version };
  return out;
}

const options = parseArgs(process.argv.slice(2));

// 1. The addon must be built on the platform the package is for.
const glibc = process.report?.getReport().header.glibcVersionRuntime;
if (process.platform !== 'linux' || process.arch !== 'x64' || !glibc) {
  fail(`${PLATFORM_PACKAGE} holds a Linux x64 glibc binary; this is ${process.platform}-${process.arch}${
    process.platform === 'linux' && !glibc ? ' (musl)' : ''
  }`);
}
if (!existsSync(source)) {
  fail(`${relative(root, source)} is missing: build it first (npm run build:native)`);
}

// 2. Copy it and check that the copy (what ships) loads and works.
copyFileSync(source, target);
let backends;
try {
  const addon = createRequire(import.meta.url)(target);
  if (typeof addon.listBackends !== 'function') throw new Error('the addon exports no listBackends()');
  backends = addon.listBackends();
} catch (error) {
  fail(`${relative(root, target)} does not load or work: ${error instanceof Error ? error.message : String(error)}`);
}
if (!Array.isArray(backends)) fail(`listBackends() returned ${typeof backends}, not an array`);

// 3. Same version as the main package.
const rootManifest = readJson(join(root, 'package.json'));
const version = rootManifest.version;
if (typeof version !== 'string' || !version) fail('the root package.json has no version');
const platformManifestPath = join(packageDir, 'package.json');
const platformManifest = readJson(platformManifestPath);
if (platformManifest.name !== PLATFORM_PACKAGE) {
  fail(`${relative(root, platformManifestPath)} is named '${platformManifest.name}', expected '${PLATFORM_PACKAGE}'`);
}
const versionChanged = writeJson(platformManifestPath, { ...platformManifest, version });

// 4. The optionalDependency: added with --release; kept at the same version wherever it is listed.
const manifest = options.manifest === join(root, 'package.json') ? rootManifest : readJson(options.manifest);
let manifestNote = 'optionalDependencies: not listed (run with --release to add it)';
if (options.release || manifest.optionalDependencies?.[PLATFORM_PACKAGE] !== undefined) {
  const changed = writeJson(options.manifest, withOptionalDependency(manifest, version));
  manifestNote = `optionalDependencies: ${PLATFORM_PACKAGE}@${version} in ${options.manifest}${changed ? ' (updated)' : ''}`;
}

const summary = backends.map((b) => `${b?.name}${b?.available ? '' : ' (unavailable)'}`).join(', ');
console.log(`prepare-platform-package: ${relative(root, target)} loads; backends: ${summary}`);
console.log(`prepare-platform-package: ${PLATFORM_PACKAGE}@${version}${versionChanged ? ' (version updated)' : ''}`);
console.log(`prepare-platform-package: ${manifestNote}`);
