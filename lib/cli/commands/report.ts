// `qwen3-native report <run>`: one run's training curves as a self-contained HTML file (lib/compare draws them), and
// below them the posts the run gets most confidently wrong, explained: its dev posts, or --test <file>'s.
import * as fs from 'fs';
import * as path from 'path';
import { isRunFolder } from '../../runs/folder';
import { writeRunReport } from '../../compare/run-report';
import { displayPath } from '../../util/paths';
import type { Flags } from '../args';
import { existingFile, out } from '../common';
import { CliError, EXIT } from '../errors';

export async function runReportCommand(flags: Flags, positionals: string[]): Promise<number> {
  const given = [...flags.list('checkpoint'), ...positionals];
  if (given.length !== 1)
    throw new CliError(
      given.length === 0
        ? 'report needs one run folder: qwen3-native report <run folder> (e.g. models/qwen3_lora_tiny)'
        : `report draws one run at a time; got ${given.length}: ${given.join(', ')}`
    );
  const run = path.resolve(given[0]);
  if (!fs.existsSync(run) || !isRunFolder(run))
    throw new CliError(`${displayPath(run)} is not a run folder (no run.json); train one with \`qwen3-native train\``);
  const target = flags.string('out');
  if (target !== undefined && !fs.existsSync(path.dirname(path.resolve(target))))
    throw new CliError(`${flags.spelling('out')}: the folder ${path.dirname(path.resolve(target))} does not exist`);
  const test = existingFile(flags, 'test');
  const wrongPosts = flags.nonNegativeInt('wrong-posts');
  let written;
  try {
    written = await writeRunReport(run, target, { test, wrongPosts });
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.failure);
  }
  out(`${displayPath(written.file)} (${written.records} records of ${displayPath(run)}/metrics.jsonl)`);
  return EXIT.ok;
}
