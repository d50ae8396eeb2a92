// `qwen3-native info`: what this machine's libtorch can do, and the trained runs found.
import * as path from 'path';
import { findRuns, readRunInfo } from '../classifier/run-folder';
import { resolveDeviceAndDtype, runtimeInfo } from '../qwen3/model';
import type { Flags } from './args';
import { EXIT } from './errors';

export async function runInfo(flags: Flags): Promise<number> {
  const info = runtimeInfo();
  const { dtype } = resolveDeviceAndDtype({}, info);
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  const runs = findRuns(modelsDir).map((dir) => {
    try {
      const run = readRunInfo(dir);
      return { dir, method: run.method, accuracy: run.best?.metrics.accuracy ?? null };
    } catch {
      return { dir, method: 'unreadable', accuracy: null };
    }
  });
  if (flags.bool('json')) {
    process.stdout.write(`${JSON.stringify({ ...info, defaultDtype: dtype, runs })}\n`);
    return EXIT.ok;
  }
  const lines = [
    `libtorch        ${info.libtorchVersion}`,
    `CUDA            ${info.cudaAvailable ? `yes (${info.cudaDeviceCount} device${info.cudaDeviceCount === 1 ? '' : 's'})` : 'no'}`,
    `threads         ${info.threads}`,
    `native bf16 CPU ${info.cpuBf16 ? 'yes (AVX512-BF16/AMX)' : 'no'}`,
    `default dtype   ${dtype}`,
    `runs in ${modelsDir}: ${runs.length === 0 ? 'none' : ''}`,
    ...runs.map(
      (r) =>
        `  ${path.basename(r.dir)}  ${r.method}${r.accuracy === null ? '' : `  dev accuracy ${(r.accuracy * 100).toFixed(1)}%`}`
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
