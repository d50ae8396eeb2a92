'use strict';
// Two hosts on one machine, for multi-machine tests: two network namespaces joined by a veth pair, each end its own
// address. The namespaces hold nothing else (no route out), so whatever the hosts send stays between them. Needs root;
// `makeHosts` says why it could not make them instead of throwing.
const { spawnSync } = require('child_process');

// Each run's names carry its pid: a run killed before its cleanup leaves namespaces that the next run removes (their
// pid is gone) and whose names it never reuses. A veth's name is at most 15 bytes (IFNAMSIZ - 1).
const PREFIX = 'q3n2h';
const NAME = new RegExp(`^${PREFIX}-(\\d+)-[a-z0-9]+-[01]$`);

function ip(args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Ends what still runs in namespace `ns` (only processes a test started there) and deletes it with its veth end. */
function removeNamespace(ns) {
  let pids = [];
  try {
    pids = ip(['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
  } catch {
    // already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  try {
    ip(['netns', 'del', ns]);
  } catch {
    // already gone
  }
}

/** Removes the namespaces of earlier runs whose process is gone (killed before their cleanup ran). */
function removeLeftovers() {
  let list = '';
  try {
    list = ip(['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    const m = NAME.exec(ns);
    if (m && !alive(Number(m[1]))) removeNamespace(ns);
  }
}

/**
 * Makes hosts 0 and 1: { hosts: [{ ns, dev, addr }, ...], remove() }, or { why } when this machine cannot (not root,
 * no `ip`, no network namespaces). Host 0 is 10.213.0.1, host 1 10.213.0.2 (each namespace has its own addresses and
 * ports, so neither clashes with anything outside).
 */
function makeHosts() {
  if (process.getuid?.() !== 0) return { why: 'network namespaces need root' };
  removeLeftovers();
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const tag = `${process.pid.toString(36)}${id.slice(-4)}`.slice(-9);
  const hosts = [0, 1].map((h) => ({ ns: `${PREFIX}-${id}-${h}`, dev: `q3n${tag}v${h}`, addr: `10.213.0.${h + 1}` }));
  const remove = () => hosts.forEach((h) => removeNamespace(h.ns));
  try {
    for (const h of hosts) ip(['netns', 'add', h.ns]);
    // Made inside the namespaces at once: never on this machine's own network, even for a moment.
    ip([
      'link',
      'add',
      hosts[0].dev,
      'netns',
      hosts[0].ns,
      'type',
      'veth',
      'peer',
      'name',
      hosts[1].dev,
      'netns',
      hosts[1].ns,
    ]);
    for (const h of hosts) {
      ip(['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', h.dev]);
      ip(['-n', h.ns, 'link', 'set', h.dev, 'up']);
      ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    remove();
    return { why: `network namespaces cannot be made here (${e.message.split('\n')[0]})` };
  }
  return { hosts, remove };
}

/** `ip` as a test step (a link set down, counters read): throws with its message when it fails. */
const ipCommand = ip;

/** The bytes host `h` sent over its veth so far. */
function sentBytes(h) {
  const out = ip(['-n', h.ns, '-s', '-j', 'link', 'show', h.dev]);
  return JSON.parse(out)[0].stats64.tx.bytes;
}

/** The interfaces of host `h`'s namespace. */
function interfaces(h) {
  return JSON.parse(ip(['-n', h.ns, '-j', 'link', 'show'])).map((l) => l.ifname);
}

/** The local addresses host `h` listens on at TCP `port`, as `ss` shows them ("10.213.0.1:29500", "0.0.0.0:29500",
 * "[::]:29500", "*:29500"). */
function listening(h, port) {
  const out = ip(['netns', 'exec', h.ns, 'ss', '-Hltn', `sport = :${port}`]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/)[3]);
}

/** A TCP connection from inside host `h` to address:port: 'connected', or the error's code ('ECONNREFUSED'). */
function connectFrom(h, address, port) {
  const script =
    `require('net').connect(${port}, ${JSON.stringify(address)})` +
    ".on('connect', function () { console.log('connected'); this.destroy(); })" +
    '.on("error", (e) => console.log(e.code))';
  const r = spawnSync('ip', ['netns', 'exec', h.ns, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return (r.stdout || r.stderr || String(r.error)).trim();
}

module.exports = { makeHosts, ipCommand, sentBytes, interfaces, listening, connectFrom };
