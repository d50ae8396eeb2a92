'use strict';
// Builds the addon from source with cmake-js against the libtorch find-libtorch.js picks. Run on purpose only
// (`npx qwen3-native build`, `npm run build:native`, scripts/setup.sh, scripts/prebuild.sh), never by npm install.
//
//   node scripts/build-native.js              local build -> build/Release/qwen3_native.node (wins over prebuilds)
//   node scripts/build-native.js --prebuild [--expect <variant>]
//                                             portable build -> prebuilds/<variant>/prebuilds/linux-x64/
//                                             qwen3_native.node (stripped, no RUNPATH) + qwen3_native.json
//   --if-stale                                skip a local build that is newer than csrc/ and CMakeLists.txt and was
//                                             built against the libtorch found now (scripts/setup.sh, run again)
//   --build-dir <dir> (or QWEN3_NATIVE_BUILD_DIR)  keep the CMake tree there for incremental rebuilds; by default it
//                                             goes to a temporary folder that is deleted afterwards (it holds a
//                                             ~550 MB precompiled header), so only the .node file stays behind.
//
// Needs a C++17 compiler, CMake >= 3.18, make, and libtorch with its headers and CMake files (Debian: libtorch-dev;
// an unpacked libtorch zip in LIBTORCH; or pip torch). cmake-js, node-addon-api and node-api-headers are
// devDependencies: an installed package fetches the pinned versions from the npm registry on its first build.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, variantOf, pipFits } = require('./find-libtorch');

const ROOT = path.resolve(__dirname, '..');
const ADDON = 'qwen3_native';
const TOOLS = ['cmake-js', 'node-addon-api', 'node-api-headers'];

function fail(message) {
  const e = new Error(message);
  e.userFacing = true;
  throw e;
}

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  return null;
}

/** Every missing build tool at once, with the line that installs them. */
function checkCompilers() {
  const missing = [];
  if (!which('cmake')) missing.push('cmake');
  if (!which('make') && !which('ninja')) missing.push('make');
  if (!which('c++') && !which('g++') && !which('clang++')) missing.push('a C++17 compiler (g++ or clang++)');
  if (missing.length) {
    fail(
      `a source build needs ${missing.join(', ')}, not found on PATH.\n` +
        'Debian/Ubuntu: sudo apt-get install g++ cmake make libtorch-dev (or use a prebuilt addon: see the README, "Install").'
    );
  }
}

/** cmake-js & co.: from this package's node_modules (a clone), else the pinned versions installed once into a cache. */
function buildTools() {
  const resolveFrom = (base) => {
    try {
      const paths = [base];
      return {
        cmakeJs: require.resolve('cmake-js/bin/cmake-js', { paths }),
        // include_dir is relative to the working directory at require time: made absolute here.
        addonApi: path.resolve(require(require.resolve('node-addon-api', { paths })).include_dir),
      };
    } catch {
      return null;
    }
  };
  const local = resolveFrom(ROOT);
  if (local) return local;
  const dev = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies || {};
  const specs = TOOLS.map((t) => `${t}@${dev[t] || 'latest'}`);
  const cacheRoot = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = path.join(
    cacheRoot,
    'qwen3-native',
    `build-tools-${crypto.createHash('sha256').update(specs.join(' ')).digest('hex').slice(0, 12)}`
  );
  let tools = resolveFrom(dir);
  if (!tools) {
    console.log(`qwen3-native: fetching the build tools (${specs.join(', ')}) into ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(
      npm,
      ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', ...specs],
      { cwd: dir, stdio: 'inherit' }
    );
    tools = r.status === 0 ? resolveFrom(dir) : null;
    if (!tools) fail(`could not install ${specs.join(', ')} with npm (exit ${r.status}); a source build needs them`);
  }
  return tools;
}

/** The highest GLIBC_x.y version the file's dynamic symbols need (its glibc floor), from objdump -T. */
function glibcFloor(file) {
  const r = spawnSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) fail(`objdump -T ${file} failed: ${r.stderr || r.error}`);
  let best = [0, 0];
  for (const m of r.stdout.matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v = [Number(m[1]), Number(m[2])];
    if (v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return `${best[0]}.${best[1]}`;
}

/** What a user installs to run this variant: the apt line on Debian, else pip or a libtorch zip. */
function runtimeHint(lt) {
  if (lt.sonames === 'versioned' && lt.kind !== 'libtorch') {
    const r = spawnSync('dpkg', ['-S', fs.realpathSync(lt.libraries[0])], { encoding: 'utf8' });
    const pkg = r.status === 0 ? r.stdout.split(':')[0].trim() : null;
    const osr = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
    const name = /^PRETTY_NAME="?([^"\n]*)/m.exec(osr);
    if (pkg) return { platform: name ? name[1] : 'Debian', apt: `${pkg} libopenblas0-openmp` };
  }
  const version = (lt.version || lt.minor).replace(/\+.*/, '');
  return {
    platform: 'pytorch.org libtorch / pip torch',
    pip: pipFits(lt.minor, lt.cxx11abi) ? `torch==${version}` : null,
    zip: `libtorch ${version} (${lt.cxx11abi ? 'C++11 ABI' : 'pre-C++11 ABI'}, CPU or CUDA)`,
  };
}

function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function newestSource(dir) {
  let newest = fs.statSync(path.join(ROOT, 'CMakeLists.txt')).mtimeMs;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** A local build that a rebuild would reproduce: newer than every source, same libtorch. */
function upToDate(lt) {
  const file = path.join(ROOT, 'build', 'Release', `${ADDON}.node`);
  try {
    const meta = JSON.parse(fs.readFileSync(file.replace(/\.node$/, '.json'), 'utf8'));
    return (
      meta.torch === lt.version &&
      meta.builtAgainst === lt.source &&
      fs.statSync(file).mtimeMs > newestSource(path.join(ROOT, 'csrc'))
    );
  } catch {
    return false;
  }
}

function build({
  prebuild = false,
  expect = null,
  ifStale = false,
  buildDir = process.env.QWEN3_NATIVE_BUILD_DIR || null,
  quiet = false,
} = {}) {
  let lt;
  try {
    lt = findLibtorch(process.env, { forBuild: true });
  } catch (e) {
    fail(
      `${e.message}\nA source build needs libtorch's headers and CMake files:\n` +
        '  - Debian 12/13, Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp\n' +
        '  - an unpacked libtorch zip from pytorch.org (CPU or CUDA): export LIBTORCH=/path/to/libtorch\n' +
        '  - pip install torch (python3 on PATH must import it)'
    );
  }
  const variant = variantOf(lt);
  if (ifStale && !prebuild && upToDate(lt)) {
    if (!quiet)
      console.log(`qwen3-native: build/Release/${ADDON}.node is up to date (libtorch ${lt.version} from ${lt.source})`);
    return { file: path.join(ROOT, 'build', 'Release', `${ADDON}.node`), meta: null };
  }
  if (expect && variant !== expect)
    fail(`expected to build ${expect}, but the libtorch found (${lt.source}: ${lt.version}) makes ${variant}`);
  checkCompilers();
  const tools = buildTools();
  const log = (m) => quiet || console.log(`qwen3-native: ${m}`);
  log(
    `building against libtorch ${lt.version} from ${lt.source} (${lt.torchDir})${prebuild ? `, prebuilt variant ${variant}` : ''}`
  );

  const temporary = !buildDir;
  const out = buildDir ? path.resolve(buildDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-native-build-'));
  const started = Date.now();
  try {
    const common = ['--directory', ROOT, '--out', out];
    const configure = [
      `--CDTorch_DIR=${lt.torchDir}`,
      // TorchConfig.cmake finds Caffe2's config and libtorch.so with PATHS, which CMake tries after the system's
      // folders: next to Debian's libtorch-dev, a pip torch 2.13 build compiled against its own headers but linked
      // Debian's 1.13 (undefined references). Its own prefix first in the search makes it find its own.
      ...(lt.prefix ? [`--CDCMAKE_PREFIX_PATH=${lt.prefix}`] : []),
      `--CDNODE_ADDON_API_DIR=${tools.addonApi}`,
      // Prebuilt addons carry no RUNPATH: libtorch's folder differs on every machine (lib/native-loader.ts loads it).
      `--CDQWEN3_NATIVE_RPATH=${prebuild ? 'OFF' : 'ON'}`,
    ];
    // configure, then build: `cmake-js compile` skips configuring a kept tree, and would ignore changed options.
    for (const step of [
      ['configure', ...common, ...configure],
      ['build', ...common, '--parallel', String(Math.max(1, os.cpus().length))],
    ]) {
      const r = spawnSync(process.execPath, [tools.cmakeJs, ...step], {
        cwd: ROOT,
        stdio: quiet ? 'ignore' : 'inherit',
      });
      if (r.status !== 0)
        fail(
          `native build failed (cmake-js ${step[0]} exit ${r.status})${temporary ? '' : `; build tree kept in ${out}`}`
        );
    }
    const built = path.join(out, 'Release', `${ADDON}.node`);
    if (!fs.existsSync(built)) fail(`native build finished but ${built} is missing`);
    const meta = {
      variant,
      torch: lt.version,
      torchMinor: lt.minor,
      cxx11abi: lt.cxx11abi,
      sonames: lt.sonames,
      builtAgainst: lt.source,
      platform: `${process.platform}-${process.arch}`,
      node: process.version,
      napi: 8,
    };
    let dest;
    if (prebuild) {
      dest = path.join(ROOT, 'prebuilds', variant, 'prebuilds', `${process.platform}-${process.arch}`, `${ADDON}.node`);
      const stripped = path.join(out, `${ADDON}.stripped.node`);
      const s = spawnSync('strip', ['--strip-unneeded', '-o', stripped, built], { stdio: 'inherit' });
      if (s.status !== 0) fail('strip failed');
      const runpath = spawnSync('readelf', ['-d', stripped], { encoding: 'utf8' }).stdout || '';
      if (/R(UN)?PATH/.test(runpath)) fail(`the prebuilt addon still has a RUNPATH:\n${runpath}`);
      const bytes = fs.readFileSync(stripped);
      Object.assign(meta, {
        glibc: glibcFloor(stripped),
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
        runtime: runtimeHint(lt),
      });
      fs.rmSync(path.join(ROOT, 'prebuilds', variant), { recursive: true, force: true });
      writeAtomic(dest, bytes);
    } else {
      dest = path.join(ROOT, 'build', 'Release', `${ADDON}.node`);
      // A build tree an older version of this script left in build/ (cmake-js's default): only the addon stays.
      if (fs.existsSync(path.join(ROOT, 'build', 'CMakeCache.txt')) && path.resolve(out) !== path.join(ROOT, 'build')) {
        for (const e of fs.readdirSync(path.join(ROOT, 'build')))
          if (e !== 'Release') fs.rmSync(path.join(ROOT, 'build', e), { recursive: true, force: true });
        for (const e of fs.readdirSync(path.join(ROOT, 'build', 'Release')))
          if (!e.startsWith(ADDON)) fs.rmSync(path.join(ROOT, 'build', 'Release', e), { recursive: true, force: true });
      }
      writeAtomic(dest, fs.readFileSync(built));
      fs.chmodSync(dest, 0o755);
    }
    writeAtomic(dest.replace(/\.node$/, '.json'), `${JSON.stringify(meta, null, 2)}\n`);
    log(`built ${path.relative(process.cwd(), dest) || dest} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return { file: dest, meta };
  } finally {
    if (temporary) fs.rmSync(out, { recursive: true, force: true });
  }
}

module.exports = { build };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : null;
  };
  try {
    build({
      prebuild: argv.includes('--prebuild'),
      ifStale: argv.includes('--if-stale'),
      expect: opt('--expect'),
      buildDir: opt('--build-dir') || undefined,
    });
  } catch (e) {
    console.error(`qwen3-native: ${e.userFacing ? e.message : e.stack}`);
    process.exit(1);
  }
}
