// `qwen3-native info`: what this machine's libtorch can do, and the trained runs found (run folders, PEFT adapters,
// the old scripts' pickled heads, interrupted runs).
import * as path from 'path';
import { findInterruptedRuns, findRuns } from '../classifier/run-lookup';
import { resolveDeviceAndDtype, runtimeInfo } from '../qwen3/model';
import type { Flags } from './args';
import { EXIT } from './errors';
import { describeRun, readRun } from './select';

export async function runInfo(flags: Flags): Promise<number> {
  const info = runtimeInfo();
  const { dtype } = resolveDeviceAndDtype({}, info);
  const modelsDir = path.resolve(flags.string('models-dir') ?? 'models');
  const runs = findRuns(modelsDir).map((dir) => {
    const run = readRun(dir);
    return {
      dir,
      method: run.info?.method ?? 'unreadable',
      kind: run.info ? (run.info.versions.package === 'peft' ? 'peft-adapter' : 'run') : 'unreadable',
      accuracy: run.info?.best?.metrics.accuracy ?? null,
      description: describeRun(run),
    };
  });
  const interrupted = findInterruptedRuns(modelsDir);
  if (flags.bool('json')) {
    process.stdout.write(`${JSON.stringify({ ...info, defaultDtype: dtype, runs, interrupted })}\n`);
    return EXIT.ok;
  }
  const lines = [
    `libtorch        ${info.libtorchVersion}`,
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
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
