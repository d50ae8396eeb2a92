// Which addon file to load, and loading it so that a mismatch is an Error here, never a crash at the first call.
//
// 1. A local build (build/Release, made by `npx qwen3-native build` / `npm run build:native`) wins.
// 2. Otherwise the prebuilt addon for the user's libtorch: scripts/find-libtorch.js (the one home of the detection,
//    shared with the source build) finds it ($LIBTORCH, Python torch, the system's) with its version, C++ ABI and
//    soname style, which name the variant folder prebuilds/<variant>/, a node-gyp-build root (node-gyp-build picks
//    the platform/arch file inside; it cannot tell libtorch versions apart on its own).
// 3. libtorch's libraries outside the default search path (pip's torch/lib, an unpacked zip) are loaded first, so
//    the addon's DT_NEEDED entries (libc10.so, libtorch_cpu.so, libtorch.so) resolve to them: prebuilt addons carry no
//    RUNPATH because that folder differs on every machine.
// 4. The addon is opened with RTLD_NOW: every symbol binds at load, so a libtorch of another version or ABI fails
//    here with the missing symbol's name (Node's default, RTLD_LAZY, would crash at the first call instead).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** What scripts/find-libtorch.js reports about a libtorch. */
export interface LibtorchFound {
  /** 'LIBTORCH', 'Python torch (python3)' or 'system (/usr/lib/x86_64-linux-gnu)' */
  source: string;
  kind: 'libtorch' | 'python' | 'system';
  /** folder of libc10 / libtorch_cpu / libtorch */
  libDir: string;
  /** folder of TorchConfig.cmake; null for a runtime-only install (enough for a prebuilt addon) */
  torchDir: string | null;
  /** e.g. '2.6.0', '2.8.0+cu128'; null when nothing names it */
  version: string | null;
  /** e.g. '2.6' */
  minor: string | null;
  /** 1: built with the C++11 std::string ABI */
  cxx11abi: 0 | 1 | null;
  /** 'versioned': Debian's libtorch.so.2.6; 'plain': pytorch.org's libtorch.so */
  sonames: 'versioned' | 'plain';
  cuda: string | null;
  /** the libraries loaded before a prebuilt addon */
  libraries: string[];
  /** the places looked at before this one, and why they did not fit */
  tried: string[];
}

/** The JSON beside each addon file (written by scripts/build-native.js). */
export interface AddonMeta {
  variant: string | null;
  torch: string | null;
  torchMinor: string | null;
  cxx11abi: number | null;
  sonames: string;
  builtAgainst: string;
  /** prebuilt addons: the highest GLIBC_x.y its symbols need */
  glibc?: string;
  sha256?: string;
  /** prebuilt addons: what a user installs to run it */
  runtime?: { platform: string; apt?: string; pip?: string | null; zip?: string };
}

export interface AddonChoice {
  file: string;
  origin: 'local build' | 'prebuilt';
  meta: AddonMeta | null;
}

/** What `qwen3-native info` shows: the libtorch found and the addon file chosen. */
export interface NativeLoadReport {
  libtorch: LibtorchFound | null;
  /** why no libtorch was found */
  libtorchError: string | null;
  addon: AddonChoice | null;
}

interface LibtorchFinder {
  findLibtorch(env?: Record<string, string | undefined>, options?: { forBuild?: boolean }): LibtorchFound;
  variantOf(found: LibtorchFound): string | null;
  pipFits(minor: string, cxx11abi: number | null): boolean;
  libtorchEnvProblem(env?: Record<string, string | undefined>): string | null;
}

const ROOT = path.resolve(__dirname, '..');
const ADDON = 'qwen3_native';
const PLATFORM = `${process.platform}-${process.arch}`;
// Missing from os.constants.dlopen; glibc's <dlfcn.h> value. Node dlcloses a library that is not an addon ("did not
// self-register"): NODELETE keeps it loaded.
const RTLD_NODELETE = 0x1000;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const finder = require(path.join(ROOT, 'scripts', 'find-libtorch.js')) as LibtorchFinder;

export interface Detected {
  libtorch: LibtorchFound | null;
  error: string | null;
  tried: string[];
}
let detected: Detected | undefined;

/**
 * What another thread of this process detected (preloadNative's worker): the main thread takes it rather than look
 * again, since looking may run Python (pip torch) for up to seconds.
 */
export function adoptDetection(d: Detected | undefined): void {
  detected ??= d;
}

/** What detectLibtorch found on this thread, if it ran (a local build loads without it). */
export function detectionSoFar(): Detected | undefined {
  return detected;
}

/** The user's libtorch (once per process). */
export function detectLibtorch(): Detected {
  if (!detected) {
    try {
      const libtorch = finder.findLibtorch(process.env);
      detected = { libtorch, error: null, tried: libtorch.tried };
    } catch (err) {
      const tried = (err as { tried?: string[] }).tried ?? [];
      detected = { libtorch: null, error: err instanceof Error ? err.message : String(err), tried };
    }
  }
  return detected;
}

function readMeta(addonFile: string): AddonMeta | null {
  try {
    return JSON.parse(fs.readFileSync(addonFile.replace(/\.node$/, '.json'), 'utf8')) as AddonMeta;
  } catch {
    return null;
  }
}

/** Every prebuilt addon in the package for this platform, by variant. */
export function shippedAddons(): AddonMeta[] {
  const dir = path.join(ROOT, 'prebuilds');
  const out: AddonMeta[] = [];
  for (const variant of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    const meta = readMeta(path.join(dir, variant, 'prebuilds', PLATFORM, `${ADDON}.node`));
    if (meta) out.push(meta);
  }
  return out;
}

/** In a clone the README's set-up applies; in an installed package, packages and commands a user runs. */
function inClone(): boolean {
  return fs.existsSync(path.join(ROOT, 'scripts', 'setup.sh'));
}

function describeLibtorch(lt: LibtorchFound): string {
  const abi = lt.cxx11abi === null ? 'C++ ABI unknown' : lt.cxx11abi ? 'C++11 ABI' : 'pre-C++11 ABI';
  const cuda = lt.cuda ? `, CUDA ${lt.cuda}` : '';
  return `libtorch ${lt.version ?? '(version unknown)'} (${abi}${cuda}) from ${lt.source}: ${lt.libDir}`;
}

function describeShipped(shipped: AddonMeta[]): string {
  if (shipped.length === 0) return `This copy of qwen3-native ships no prebuilt addon for ${PLATFORM}.`;
  const rows = shipped.map(
    (m) =>
      `  - libtorch ${m.torchMinor}: ${m.runtime?.platform ?? m.builtAgainst} (${m.cxx11abi ? 'C++11' : 'pre-C++11'} ABI)`
  );
  return `This copy of qwen3-native ships addons for (${PLATFORM}):\n${rows.join('\n')}`;
}

/** The fix lines: one per way to get a libtorch the package ships for, plus the source build. */
function fixes(shipped: AddonMeta[]): string {
  if (inClone()) {
    return 'Fix: `bash scripts/setup.sh` (installs libtorch-dev and libopenblas0-openmp on Debian/Ubuntu and builds the addon), or set LIBTORCH to an unpacked libtorch and run `npm run build:native`.';
  }
  const lines: string[] = [];
  for (const m of shipped)
    if (m.runtime?.apt) lines.push(`${m.runtime.platform}: sudo apt-get install ${m.runtime.apt}`);
  const upstream = shipped.filter((m) => m.sonames === 'plain');
  const pip = upstream.map((m) => m.runtime?.pip).filter((p): p is string => Boolean(p));
  if (pip.length)
    lines.push(
      `pip install ${pip[pip.length - 1]} (CPU or CUDA; python3 on PATH must import it)${pip.length > 1 ? `; also fits: ${pip.slice(0, -1).join(', ')}` : ''}`
    );
  const zips = upstream.map((m) => `${m.torchMinor}${m.cxx11abi ? '' : ' (pre-C++11 ABI)'}`);
  if (zips.length)
    lines.push(
      `an unpacked libtorch ${zips.join(' / ')} zip from pytorch.org (C++11 ABI, CPU or CUDA): export LIBTORCH=/path/to/libtorch`
    );
  lines.push(
    'any other libtorch: build the addon for it with `npx qwen3-native build` (needs g++, CMake, make and libtorch with its headers: Debian libtorch-dev, a libtorch zip in LIBTORCH, or pip torch)'
  );
  return `Fix, one of:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
}

function openAddon(file: string): unknown {
  const m = { exports: {} as unknown };
  process.dlopen(m, file, os.constants.dlopen.RTLD_NOW);
  return m.exports;
}

/** Loads libtorch's libraries from a folder the dynamic linker would not search, before the addon needs them. */
function preloadLibtorch(lt: LibtorchFound): void {
  if (lt.kind === 'system') return;
  const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen;
  for (const lib of lt.libraries) {
    try {
      process.dlopen({ exports: {} }, lib, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Loaded, and not an addon: what we wanted.
      if (!message.includes('did not self-register')) throw new Error(`could not load ${lib}: ${message}`);
    }
  }
}

function glibcRuntime(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

function older(a: string, b: string): boolean {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

/** The local build, when there is one (node-gyp-build's rule: the first .node in build/Release). */
function localBuild(): string | null {
  const dir = path.join(ROOT, 'build', 'Release');
  const name = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.node')) : undefined;
  return name ? path.join(dir, name) : null;
}

function prebuiltFor(variant: string): string | null {
  const dir = path.join(ROOT, 'prebuilds', variant);
  if (!fs.existsSync(dir)) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const file = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(dir);
    return file.startsWith(dir + path.sep) ? file : null;
  } catch {
    return null;
  }
}

let warnedLibtorchEnv = false;

/** A LIBTORCH that is not a libtorch is a Node warning (once per process), not a silent fall back to another one. */
export function warnAboutLibtorchEnv(env: Record<string, string | undefined> = process.env): string | null {
  const problem = finder.libtorchEnvProblem(env);
  if (problem && !warnedLibtorchEnv) {
    warnedLibtorchEnv = true;
    process.emitWarning(problem, { code: 'QWEN3_NATIVE_LIBTORCH' });
  }
  return problem;
}

/** Picks, preloads and opens the addon; `report` says what was found and chosen, also when it throws. */
export function loadAddon(report: NativeLoadReport): unknown {
  warnAboutLibtorchEnv();
  const local = localBuild();
  if (local) {
    report.addon = { file: local, origin: 'local build', meta: readMeta(local) };
    // A local build remembers its libtorch in its RUNPATH (or uses the system's): no detection needed to load it.
    try {
      return openAddon(local);
    } catch (err) {
      const { libtorch } = detectLibtorch();
      const built = report.addon.meta
        ? `libtorch ${report.addon.meta.torch} from ${report.addon.meta.builtAgainst}`
        : 'an unknown libtorch';
      const now = libtorch ? describeLibtorch(libtorch) : 'no libtorch';
      throw new Error(
        `qwen3-native: the locally built addon ${local} does not load: ${reason(err)}\n` +
          `It was built against ${built}; found now: ${now}.\n` +
          `Fix: rebuild it with \`${inClone() ? 'npm run build:native' : 'npx qwen3-native build'}\`, or delete ${path.dirname(path.dirname(local))} to use the prebuilt addons.`
      );
    }
  }

  const { libtorch, error, tried } = detectLibtorch();
  report.libtorch = libtorch;
  report.libtorchError = error;
  const shipped = shippedAddons();
  if (!libtorch) {
    const looked = tried.map((t) => `  - ${t}`).join('\n');
    throw new Error(
      `qwen3-native needs libtorch (PyTorch's C++ library); none found. Looked for, in order:\n${looked}\n${describeShipped(shipped)}\n${fixes(shipped)}`
    );
  }
  const variant = finder.variantOf(libtorch);
  const file = variant ? prebuiltFor(variant) : null;
  if (!file) {
    throw new Error(
      `qwen3-native has no addon for the libtorch found: ${describeLibtorch(libtorch)} (variant ${variant ?? 'unknown'}).\n` +
        `${describeShipped(shipped)}\n${fixes(shipped)}`
    );
  }
  const meta = readMeta(file);
  report.addon = { file, origin: 'prebuilt', meta };
  try {
    preloadLibtorch(libtorch);
    return openAddon(file);
  } catch (err) {
    const glibc = glibcRuntime();
    const tooOld =
      meta?.glibc && glibc && older(glibc, meta.glibc)
        ? ` It needs glibc ${meta.glibc}; this system has ${glibc}.`
        : '';
    throw new Error(
      `qwen3-native: the prebuilt addon ${file} does not load with ${describeLibtorch(libtorch)}: ${reason(err)}.${tooOld}\n` +
        `Fix: build the addon for this machine with \`${inClone() ? 'npm run build:native' : 'npx qwen3-native build'}\` (needs g++, CMake, make and libtorch's headers).`
    );
  }
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).trim().replace(/\.$/, '');
}
