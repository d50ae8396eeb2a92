// The process's resident memory: now, its peak, and starting a new peak. Linux keeps the peak (VmHWM) per process
// and lets the process reset it (/proc/self/clear_refs, "5"), which is how a run that trains several models in one
// process (qwen3-native compare) gives each phase its own peak. Elsewhere the peak is getrusage's maxrss, which only
// grows.
import * as fs from 'fs';

function statusBytes(field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size now, in bytes. */
export function currentRss(): number {
  return statusBytes('VmRSS') ?? process.memoryUsage().rss;
}

/** The highest resident set size since the process started or since the last resetPeakRss(), in bytes. */
export function peakRss(): number {
  return statusBytes('VmHWM') ?? process.resourceUsage().maxRSS * 1024;
}

/**
 * Starts a new peak at the current resident size (Linux 4.0+); false where the peak cannot be reset (then peakRss()
 * keeps the process's all-time peak).
 */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** The soft limit on this process's address space (`ulimit -v`, RLIMIT_AS) in bytes; undefined when unlimited. */
export function addressSpaceLimit(): number | undefined {
  try {
    const line = /^Max address space\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return line && line[1] !== 'unlimited' ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}
