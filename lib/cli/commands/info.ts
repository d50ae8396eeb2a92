// `qwen3-native info`: which libtorch was found and which addon file was loaded, what that libtorch can do, and the
// trained runs found (run folders, PEFT adapters, the old scripts' pickled heads, interrupted runs). When the addon
// does not load it still prints what was found, then the error (exit 1).
import * as path from 'path';
import { findInterruptedRuns, findRuns } from '../../runs/lookup';
import { nativeLoadReport, type NativeLoadReport } from '../../native';
import { resolveDeviceAndDtype, runtimeInfo } from '../../qwen3/runtime';
import type { Flags } from '../args';
import { EXIT } from '../errors';
import { describeRun, readRun } from '../select';
import { streams } from '../io';

function libtorchLines(report: NativeLoadReport): string[] {
  const lt = report.libtorch;
  if (!lt) return [`libtorch        not found`];
  const abi = lt.cxx11abi === null ? 'unknown' : lt.cxx11abi ? 'C++11 (cxx11abi1)' : 'pre-C++11 (cxx11abi0)';
  return [
    `libtorch        ${lt.version ?? 'version unknown'}${lt.cuda ? ` (CUDA ${lt.cuda})` : ''}`,
    `  found by      ${lt.source}`,
    `  libraries     ${lt.libDir}`,
    `  C++ ABI       ${abi}`,
  ];
}

function addonLines(report: NativeLoadReport): string[] {
  const a = report.addon;
  if (!a) return ['addon           none loaded'];
  const built = a.meta
    ? ` (built against libtorch ${a.meta.torch} from ${a.meta.builtAgainst}${a.meta.variant ? `; variant ${a.meta.variant}` : ''})`
    : '';
  return [`addon           ${a.file}`, `  origin        ${a.origin}${built}`];
}

export async function runInfo(flags: Flags): Promise<number> {
  let info: ReturnType<typeof runtimeInfo>;
  try {
    info = runtimeInfo();
  } catch (err) {
    const report = nativeLoadReport();
    if (flags.bool('json')) {
      const error = err instanceof Error ? err.message : String(err);
      streams().stdout.write(`${JSON.stringify({ libtorch: report.libtorch, addon: report.addon, error })}\n`);
    } else {
      streams().stdout.write(`${[...libtorchLines(report), ...addonLines(report)].join('\n')}\n`);
    }
    throw err;
  }
  const report = nativeLoadReport();
  const { dtype } = resolveDeviceAndDtype({}, info);
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  const runs = findRuns(modelsDir).map((dir) => {
    const run = readRun(dir);
    return {
      dir,
      method: run.info?.method ?? 'unreadable',
      kind: run.info ? (run.info.versions.package === 'peft' ? 'peft-adapter' : 'run') : 'unreadable',
      accuracy: run.info?.best?.metrics.accuracy ?? null,
      testAccuracy: run.test?.metrics.accuracy ?? null,
      description: describeRun(run),
    };
  });
  const interrupted = findInterruptedRuns(modelsDir);
  if (flags.bool('json')) {
    const found = { libtorch: report.libtorch, addon: report.addon };
    streams().stdout.write(`${JSON.stringify({ ...info, defaultDtype: dtype, ...found, runs, interrupted })}\n`);
    return EXIT.ok;
  }
  const lines = [
    ...libtorchLines(report),
    ...addonLines(report),
    `  compiled for  libtorch ${info.libtorchVersion}`,
    `CUDA            ${info.cudaAvailable ? `yes (${info.cudaDeviceCount} device${info.cudaDeviceCount === 1 ? '' : 's'})` : 'no'}`,
    `threads         ${info.threads}`,
    `native bf16 CPU ${info.cpuBf16 ? 'yes (AVX512-BF16/AMX)' : 'no'}`,
    `default dtype   ${dtype}`,
    `runs in ${modelsDir}: ${runs.length === 0 ? 'none' : ''}`,
    ...runs.map((r) => `  ${path.basename(r.dir)}  ${r.description}`),
    ...(interrupted.length
      ? [
          'interrupted (continue with the same train command plus --resume):',
          ...interrupted.map((d) => `  ${path.basename(d)}`),
        ]
      : []),
  ];
  streams().stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
