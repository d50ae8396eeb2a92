// `qwen3-native build`: the source build, on purpose only (npm install never compiles). It runs the package's own
// scripts/build-native.js, the script `npm run build:native` and scripts/setup.sh run in a clone, so there is one
// build recipe.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { PACKAGE_ROOT } from '../../util/paths';
import type { Flags } from '../args';
import { EXIT } from '../errors';

export async function runBuild(flags: Flags): Promise<number> {
  const args = [path.join(PACKAGE_ROOT, 'scripts', 'build-native.js')];
  const buildDir = flags.string('build-dir');
  if (buildDir) args.push('--build-dir', path.resolve(buildDir));
  // The script prints its own progress and its own one-message errors.
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return r.status === 0 ? EXIT.ok : EXIT.failure;
}
