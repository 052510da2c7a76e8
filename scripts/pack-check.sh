#!/usr/bin/env bash
# The packaging proof: packs kindred and kindred-linux-x64-gnu exactly as they would be published,
# installs both tarballs into a scratch project with CMake and the compilers shadowed (each exits 127
# and logs the attempt), and checks that the install used the prebuilt addon, built nothing, and that
# `import('kindred')` works: listBackends() and pairScores() on a 2x2 example.
#
#   npm run build && bash scripts/pack-check.sh        (needs build/Release/kindred.node and dist/)
#
# Linux x64 glibc only (the platform package is). Needs the registry for the main package's
# dependencies (onnxruntime-node's optional GPU download is skipped: ONNXRUNTIME_NODE_INSTALL=skip).
# KINDRED_PACK_CHECK_KEEP=1 keeps the temp folder for a look.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kindred-pack-check.XXXXXX")
PACK="$WORK/pack"      # the two tarballs
STAGE="$WORK/stage"    # the main package, unpacked, with its release optionalDependencies
APP="$WORK/app"        # the scratch project
NOBUILD="$WORK/nobuild-bin"
ATTEMPTS="$WORK/build-attempts.log"
mkdir -p "$PACK" "$STAGE" "$APP" "$NOBUILD"

cleanup() {
  if [[ "${KINDRED_PACK_CHECK_KEEP:-}" == 1 ]]; then echo "pack-check: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() { echo "pack-check: FAIL: $*" >&2; exit 1; }
step() { echo "pack-check: $*"; }
# npm warns about the repo's and the user's unknown config keys on every call; keep the output readable.
quiet() { grep -v -E 'npm warn Unknown (project|user|env) config' || true; }

cd "$ROOT" || fail "cannot cd to $ROOT"

# --- 1. the build's artifacts ---------------------------------------------------------------------
[[ "$(node -p 'process.platform + "-" + process.arch')" == linux-x64 ]] || fail "this check is for linux-x64"
[[ -f build/Release/kindred.node ]] || fail "build/Release/kindred.node is missing: run npm run build:native"
[[ -f dist/index.js && -f dist/index.d.ts ]] || fail "dist/ is missing: run npm run build:ts"
if [[ -n "$(find ts/src -newer dist/index.js -name '*.ts' -print -quit)" ]]; then
  echo "pack-check: warning: ts/src has files newer than dist/index.js; run npm run build:ts to pack the current code" >&2
fi
VERSION=$(node -p 'require("./package.json").version') || fail "cannot read the version"
MAIN_TGZ="$PACK/kindred-$VERSION.tgz"
PLATFORM_TGZ="$PACK/kindred-linux-x64-gnu-$VERSION.tgz"

# --- 2. pack the main package; stage it with the optionalDependency a release adds -------------------
# --ignore-scripts: pack the dist/ that was built (npm publish runs "prepare", i.e. tsc, itself).
step "packing kindred@$VERSION"
npm pack --ignore-scripts --pack-destination "$STAGE" 2>&1 | quiet >"$WORK/pack-main.log"
[[ -f "$STAGE/kindred-$VERSION.tgz" ]] || { cat "$WORK/pack-main.log"; fail "npm pack (kindred) made no tarball"; }
tar -xzf "$STAGE/kindred-$VERSION.tgz" -C "$STAGE" || fail "cannot unpack the kindred tarball"

step "preparing kindred-linux-x64-gnu (copy, load check, version sync, release optionalDependencies)"
node scripts/prepare-platform-package.mjs --release --manifest "$STAGE/package/package.json" ||
  fail "prepare-platform-package failed"
(cd "$STAGE/package" && npm pack --ignore-scripts --pack-destination "$PACK" 2>&1 | quiet >"$WORK/repack-main.log")
[[ -f "$MAIN_TGZ" ]] || { cat "$WORK/repack-main.log"; fail "npm pack (staged kindred) made no tarball"; }
(cd npm/linux-x64-gnu && npm pack --pack-destination "$PACK" 2>&1 | quiet >"$WORK/pack-platform.log")
[[ -f "$PLATFORM_TGZ" ]] || { cat "$WORK/pack-platform.log"; fail "npm pack (kindred-linux-x64-gnu) made no tarball"; }

# --- 3. what the tarballs hold ---------------------------------------------------------------------
tar -tzf "$STAGE/kindred-$VERSION.tgz" | sort >"$WORK/main-files.orig"
tar -tzf "$MAIN_TGZ" | sort >"$WORK/main-files"
tar -tzf "$PLATFORM_TGZ" | sort >"$WORK/platform-files"
cmp -s "$WORK/main-files.orig" "$WORK/main-files" || fail "staging changed the main tarball's file list"
for required in package/package.json package/dist/index.js package/dist/index.d.ts package/CMakeLists.txt \
  package/scripts/install.mjs package/binding.gyp-free/README.md; do
  grep -qx "$required" "$WORK/main-files" || fail "the kindred tarball lacks ${required#package/}"
done
for required_dir in package/native/include/ package/native/src/ package/models/feature-tower.onnx \
  package/models/session-tower.onnx package/models/fwfm-ranker.onnx; do
  grep -q "^$required_dir" "$WORK/main-files" || fail "the kindred tarball lacks ${required_dir#package/}"
done
if grep -E '^package/(build|node_modules|ts|npm|native/test|native/bench)/|/node_modules/|\.node$|\.tgz$' "$WORK/main-files"; then
  fail "the kindred tarball holds the files above (build output, node_modules, ts/, tests or a binary)"
fi
printf 'package/README.md\npackage/kindred.node\npackage/package.json\n' | cmp -s - "$WORK/platform-files" ||
  { cat "$WORK/platform-files"; fail "the kindred-linux-x64-gnu tarball should hold exactly README.md, kindred.node, package.json"; }
node -e '
  const [main, plat, version] = process.argv.slice(1).map((x, i) => i < 2 ? JSON.parse(x) : x);
  const problems = [];
  if (main.optionalDependencies?.["kindred-linux-x64-gnu"] !== version) problems.push("kindred: optionalDependencies[kindred-linux-x64-gnu] is not " + version);
  if (plat.version !== version) problems.push("kindred-linux-x64-gnu: version " + plat.version + " is not " + version);
  for (const [k, v] of [["os", "linux"], ["cpu", "x64"], ["libc", "glibc"]]) if (JSON.stringify(plat[k]) !== JSON.stringify([v])) problems.push("kindred-linux-x64-gnu: " + k + " is not [" + v + "]");
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
' "$(tar -xzOf "$MAIN_TGZ" package/package.json)" "$(tar -xzOf "$PLATFORM_TGZ" package/package.json)" "$VERSION" ||
  fail "the packed manifests are wrong"
step "kindred tarball: $(wc -l <"$WORK/main-files") files; kindred-linux-x64-gnu tarball: $(tr '\n' ' ' <"$WORK/platform-files")"

# --- 4. install both tarballs with no way to build ----------------------------------------------
for tool in cmake ctest make ninja cc c++ gcc g++ clang clang++ nvcc; do
  cat >"$NOBUILD/$tool" <<EOF
#!/bin/sh
echo "$tool \$*" >>"$ATTEMPTS"
echo "$tool is not available" >&2
exit 127
EOF
  chmod +x "$NOBUILD/$tool"
done
NOBUILD_PATH="$NOBUILD:$PATH"
[[ "$(PATH="$NOBUILD_PATH" command -v cmake)" == "$NOBUILD/cmake" ]] || fail "could not shadow cmake"
printf '{ "name": "kindred-pack-check-app", "version": "0.0.0", "private": true }\n' >"$APP/package.json"
step "installing both tarballs into $APP (cmake and compilers shadowed)"
(
  cd "$APP" &&
    env -u KINDRED_BUILD_FROM_SOURCE -u KINDRED_SKIP_BUILD -u KINDRED_ADDON_PATH PATH="$NOBUILD_PATH" \
      ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --foreground-scripts "$PLATFORM_TGZ" "$MAIN_TGZ"
) >"$WORK/install.log" 2>&1
status=$?
quiet <"$WORK/install.log" | sed 's/^/  | /'
[[ $status -eq 0 ]] || fail "npm install exited $status"
[[ ! -s "$ATTEMPTS" ]] || { sed 's/^/  attempted: /' "$ATTEMPTS"; fail "the install tried to build"; }
grep -q "kindred: using the prebuilt addon from kindred-linux-x64-gnu" "$WORK/install.log" ||
  fail "the install script did not report using the prebuilt addon"
[[ ! -e "$APP/node_modules/kindred/build" ]] || fail "node_modules/kindred/build exists: something was built"
[[ -f "$APP/node_modules/kindred-linux-x64-gnu/kindred.node" ]] || fail "kindred-linux-x64-gnu is not installed"

# --- 5. use it -------------------------------------------------------------------------------------
step "running import('kindred') in the scratch project"
(
  cd "$APP" &&
    env -u KINDRED_ADDON_PATH PATH="$NOBUILD_PATH" node -e '
      const fail = (m) => { console.error(m); process.exit(1); };
      import("kindred").then(async (k) => {
        let mode, backends, scores;
        const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([1, 0, 0, 1]);
        if (typeof k.listBackends === "function" && typeof k.pairScores === "function") {
          mode = "kindred API";
          backends = k.listBackends();
          scores = await k.pairScores(a, b, { rows: 2, cols: 2, dim: 2 });
        } else {
          // dist/ predates the TypeScript API: check the addon the main package would load.
          mode = "addon only (dist/index.js exports no listBackends/pairScores)";
          const { createRequire } = require("node:module");
          const fromKindred = createRequire(require.resolve("kindred/package.json"));
          const addon = fromKindred(fromKindred.resolve("kindred-linux-x64-gnu/kindred.node"));
          backends = addon.listBackends();
          scores = new Float32Array(4);
          await addon.pairScores(a, b, scores, 2, 2, 2, "auto");
        }
        if (!Array.isArray(backends) || backends.length === 0) fail("listBackends() gave " + JSON.stringify(backends));
        const got = Array.from(scores ?? []);
        if (JSON.stringify(got) !== "[1,2,3,4]") fail("pairScores gave " + JSON.stringify(got) + ", expected [1,2,3,4]");
        const loaded = Object.keys(require.cache).filter((p) => p.endsWith(".node"));
        if (!loaded.some((p) => p.endsWith("/node_modules/kindred-linux-x64-gnu/kindred.node"))) fail("the addon loaded is not the prebuilt one: " + JSON.stringify(loaded));
        console.log("  mode: " + mode);
        console.log("  addon: " + loaded.join(", "));
        console.log("  backends: " + backends.map((x) => x.name + (x.available ? "" : " (unavailable)")).join(", "));
        console.log("  pairScores: " + JSON.stringify(got));
      }).catch((e) => fail(e && e.stack || String(e)));
    '
) || fail "import('kindred') in the scratch project failed"

echo "pack-check: PASS: kindred@$VERSION + kindred-linux-x64-gnu@$VERSION install from tarballs with no cmake/compiler, use the prebuilt addon, and pairScores works"
