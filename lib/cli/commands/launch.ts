// `qwen3-native train --nproc-per-node N [--nnodes M --node-rank R --master-addr host --master-port p] ...`: starts
// this machine's N workers as torchrun does (each a `qwen3-native train` with the same flags and torchrun's RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and watches them. A worker that dies ends the
// others at once with one message naming its rank; a signal to the launcher goes to every worker once (each stops
// after the current step; rank 0 saves the one checkpoint).
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { DISTRIBUTED_DEFAULTS, workerEnv } from '../../train/distributed';
import type { Flags } from '../args';
import { CliError, EXIT, flagError, SIGNAL_EXIT } from '../errors';
import { err } from '../common';
import { isNativeError } from '../../native';

export interface LaunchSettings {
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** undefined: a run on one machine, whose rendezvous is a file (no port is opened) */
  masterPort?: number;
}

const LAUNCH_FLAGS = ['nproc-per-node', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

/** The launcher's settings, or undefined when --nproc-per-node is not given (a plain, or torchrun-started, worker). */
export function launchSettings(flags: Flags): LaunchSettings | undefined {
  const nproc = flags.positiveInt('nproc-per-node');
  const given = LAUNCH_FLAGS.filter((f) => f !== 'nproc-per-node' && flags.has(f));
  if (nproc === undefined) {
    if (given.length)
      throw new CliError(
        `${given.map((f) => flags.spelling(f)).join(', ')}: the launcher's flags need --nproc-per-node <n> (the ` +
          'workers to start on this machine); a worker started by torchrun reads RANK, WORLD_SIZE, ... instead'
      );
    return undefined;
  }
  const nnodes = flags.positiveInt('nnodes') ?? 1;
  const nodeRank = flags.nonNegativeInt('node-rank') ?? 0;
  if (nodeRank >= nnodes) throw flagError(flags.spelling('node-rank'), `below --nnodes ${nnodes}`, String(nodeRank));
  // Several machines must agree on the port, so they share the default; one machine needs none (launchWorkers).
  const masterPort = flags.positiveInt('master-port') ?? (nnodes > 1 ? DISTRIBUTED_DEFAULTS.masterPort : undefined);
  if (masterPort !== undefined && masterPort > 65535)
    throw flagError(flags.spelling('master-port'), 'a port 1..65535', String(masterPort));
  return {
    nprocPerNode: nproc,
    nnodes,
    nodeRank,
    masterAddr: flags.string('master-addr') ?? DISTRIBUTED_DEFAULTS.masterAddr,
    masterPort,
  };
}

/** argv split into the launcher's own flags (`--flag value`, `--flag=value`) and the workers' arguments. */
export function splitLauncherArgs(argv: readonly string[]): { launcher: string[]; worker: string[] } {
  const launcher: string[] = [];
  const worker: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--?/, '').split('=')[0];
    if (argv[i].startsWith('-') && LAUNCH_FLAGS.includes(name)) {
      launcher.push(argv[i]);
      if (!argv[i].includes('=') && i + 1 < argv.length) launcher.push(argv[++i]);
      continue;
    }
    worker.push(argv[i]);
  }
  return { launcher, worker };
}

/** Set in the workers: the launcher's flags, which the resume command a stopped run prints must repeat. */
export const LAUNCHER_FLAGS_ENV = 'QWEN3_NATIVE_LAUNCHER_FLAGS';

/**
 * How long a worker under the launcher holds back a failed collective's error (the all-reduce, barrier or gather
 * that another rank stopped answering: the addon's errorCodes.collectiveFailed). The launcher sees which of its
 * workers died, says so and ends the others, so the user reads one message naming the rank that died; without the
 * wait, rank 0's consequence ("all-reduce failed") reached the terminal 0.3 s after the kill, before the launcher's
 * message, on a loaded machine. A rank on another machine is not the launcher's to see: then the held error prints
 * after the wait.
 */
export const PEER_FAILURE_GRACE_MS = 3000;

export function heldBackForLauncher(error: unknown): boolean {
  return process.env[LAUNCHER_FLAGS_ENV] !== undefined && isNativeError(error, 'collectiveFailed');
}

/** Set in the workers: the file descriptor of a pipe from the launcher, which ends when the launcher does. */
const LAUNCHER_PIPE_ENV = 'QWEN3_NATIVE_LAUNCHER_FD';

/**
 * In a worker: ends this process when its launcher is gone (killed with SIGKILL, it forwards nothing), as a kill -9
 * would: the run folder stays resumable and nothing is published by a run nobody watches any more.
 */
export function dieWithLauncher(): void {
  const fd = Number(process.env[LAUNCHER_PIPE_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  pipe.on('error', () => undefined);
  pipe.on('close', () => {
    err(`qwen3-native train: the launcher (pid ${process.ppid}) is gone: this worker stops too`);
    process.kill(process.pid, 'SIGKILL');
  });
  pipe.resume();
  pipe.unref();
}

/** The last non-empty line of a worker's error output (its one error message). */
function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length ? lines[lines.length - 1] : '';
}

/** Runs this machine's workers to the end; the exit code is the first failing worker's (0 when all succeed). */
export async function launchWorkers(s: LaunchSettings, argv: readonly string[]): Promise<number> {
  const world = s.nprocPerNode * s.nnodes;
  const split = splitLauncherArgs(argv);
  const args = [process.argv[1], 'train', ...split.worker];
  // One machine without --master-port: the rendezvous is a file in a new folder only this user can read (mkdtemp
  // makes it 0700), so the run opens no port, and a second run beside it neither collides with it nor reads its keys
  // (a store on a port is open to anyone who can reach it, unless the run has a token). Several machines use rank 0's
  // store on --master-addr:--master-port (csrc/core/rendezvous.h).
  const storeDir =
    s.masterPort === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-native-rendezvous-')) : undefined;
  const storeFile = storeDir && path.join(storeDir, 'store');
  const masterPort = s.masterPort;
  const workers: { rank: number; child: ChildProcess; stderr: string; done: boolean }[] = [];
  for (let local = 0; local < s.nprocPerNode; local++) {
    const rank = s.nodeRank * s.nprocPerNode + local;
    // Rank 0 shows the run (its progress and messages); the others' output is kept for a failure's message.
    // detached: a Ctrl-C reaches the workers once, forwarded below, not also from the terminal.
    const child = spawn(process.execPath, args, {
      detached: true,
      // fd 3: a pipe from the launcher, which closes however the launcher ends (dieWithLauncher).
      stdio: rank === 0 ? ['inherit', 'inherit', 'inherit', 'pipe'] : ['ignore', 'ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...workerEnv({
          rank,
          worldSize: world,
          localRank: local,
          localWorldSize: s.nprocPerNode,
          masterAddr: s.masterAddr,
          masterPort,
          storeFile,
        }),
        [LAUNCHER_FLAGS_ENV]: JSON.stringify(split.launcher),
        [LAUNCHER_PIPE_ENV]: '3',
      },
    });
    const w = { rank, child, stderr: '', done: false };
    child.stderr?.on('data', (d: Buffer) => (w.stderr = (w.stderr + d.toString()).slice(-8192)));
    workers.push(w);
  }
  const forward = (signal: NodeJS.Signals) => {
    for (const w of workers) if (!w.done) w.child.kill(signal);
  };
  const signals = Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[];
  for (const sig of signals) process.on(sig, forward);
  let failed: { rank: number; code: number } | undefined;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.child.on('error', (e) => {
              w.stderr += `\n${e.message}`;
            });
            w.child.on('close', (code, signal) => {
              w.done = true;
              const bad = code !== 0;
              if (bad && !failed) {
                failed = { rank: w.rank, code: code ?? 128 + 9 };
                const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
                const why = w.rank === 0 || signal ? '' : lastLine(w.stderr);
                // Interrupted workers (Ctrl-C) saved their checkpoint: not a failure to report.
                if (!Object.values(SIGNAL_EXIT).includes(code ?? -1)) {
                  err(
                    `qwen3-native train: rank ${w.rank} of ${world} (pid ${w.child.pid}) ${how}${why ? `: ${why}` : ''}; ` +
                      'stopping the other workers on this machine.' +
                      // A worker that failed said why (a port taken, bad data): --resume would not help. One that was
                      // killed left a resumable run.
                      (signal ? ' Continue from the last checkpoint with --resume.' : '')
                  );
                  // The others would only wait for it until the timeout: end them now.
                  for (const o of workers) if (!o.done && o !== w) o.child.kill('SIGKILL');
                }
              }
              resolve();
            });
          })
      )
    );
  } finally {
    for (const sig of signals) process.off(sig, forward);
    if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
  }
  return failed ? failed.code : EXIT.ok;
}
