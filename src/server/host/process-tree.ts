/**
 * Every process a spawned guest started, found and killed with it — also those that left its process
 * group with setsid() (docs/runtimes.md, "Limits"). Two means:
 *
 * - opt-in (`--cgroups`), a cgroup v2 per invocation, where the server may create cgroups under its own one (root, or a
 *   systemd service with `Delegate=yes`): the child is moved in just after spawn, everything it forks
 *   from then on stays inside whatever it does with sessions or groups, and `cgroup.kill` ends them
 *   all at once.
 *   When the memory controller can be enabled there, `memory.max` caps the whole tree too.
 * - always, a marker in the guest's environment (`NEBULA_INVOCATION=<id>`), inherited across fork: a
 *   scan of /proc finds processes that carry it, after every call and at shutdown. It also catches a
 *   child forked before the move into the cgroup. A process that exec()s with a cleared environment
 *   outside a cgroup is not found by it.
 *
 * Why cgroups are opt-in: moving a process into a cgroup waits for an RCU grace period under a lock
 * that also holds up fork() and exit() machine-wide; native calls measured p50 +35–90 ms slower with
 * it on a loaded 2-vCPU VM — a skew in the runtime that is the study's baseline. Reading every
 * /proc/<pid>/environ takes 60–130 ms for ~170 processes there, so the scan reads only the pids
 * handed out since the call's own.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The environment variable that marks a guest's processes. */
export const MARKER = 'NEBULA_INVOCATION';

/** Numbers the ProcessTrees of this server process (tests run several servers in one process). */
let instances = 0;

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid system). */
function cgroup2Mount(): string | undefined {
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2' && dir) return dir;
  }
  return undefined;
}

/** This process' cgroup v2 path (the `0::` line of /proc/self/cgroup). */
function ownCgroup(): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

function controllers(dir: string): string[] {
  return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
}

/**
 * Enables the memory controller for `group`'s children. The parent (`base`, the server's own cgroup)
 * may hold processes — the server itself, as systemd starts a service — and cgroup v2 then refuses
 * (EBUSY: no controllers for children of a cgroup with processes, except the root): the server moves
 * itself into a leaf `nebula-server` first, as systemd's delegation rules ask. False when the memory
 * controller is not available (not delegated, or bound to cgroup v1 as on hybrid systems).
 */
function enableMemory(base: string, group: string): boolean {
  try {
    if (!controllers(base).includes('memory')) return false;
    try {
      writeFileSync(join(base, 'cgroup.subtree_control'), '+memory');
    } catch (error) {
      if (errno(error) !== 'EBUSY') return false;
      const leaf = join(base, 'nebula-server');
      mkdirSync(leaf, { recursive: true });
      writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
      writeFileSync(join(base, 'cgroup.subtree_control'), '+memory');
    }
    writeFileSync(join(group, 'cgroup.subtree_control'), '+memory');
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills and removes the groups of earlier servers that died without closing (a crash, SIGKILL): what
 * their functions left running dies now instead of living on.
 */
function removeStale(base: string): void {
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    const owner = /^nebula-(\d+)\.\d+$/.exec(entry.name)?.[1];
    if (!entry.isDirectory() || !owner || existsSync(`/proc/${owner}`)) continue;
    const dir = join(base, entry.name);
    writeQuiet(join(dir, 'cgroup.kill'), '1');
    for (const child of readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) void removeGroup(join(dir, child.name)).then(() => removeGroup(dir));
    }
    void removeGroup(dir);
  }
}

/** Creates this server's cgroup (no processes of its own; one child per invocation), if it may. */
function createGroup(name: string): { dir: string; memory: boolean } | undefined {
  try {
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (!mount || own === undefined) return undefined;
    const base = join(mount, own);
    removeStale(base);
    const dir = join(base, name);
    mkdirSync(dir);
    // cgroup.kill came with Linux 5.14; without it the marker scan is the means.
    if (!existsSync(join(dir, 'cgroup.kill'))) {
      rmdirSync(dir);
      return undefined;
    }
    return { dir, memory: enableMemory(base, dir) };
  } catch {
    return undefined;
  }
}

/** The pid most recently handed out (the last field of /proc/loadavg). */
async function lastPid(): Promise<number> {
  const fields = (await readFile('/proc/loadavg', 'utf8')).trim().split(' ');
  return Number(fields[fields.length - 1]);
}

/**
 * SIGKILLs every process whose environment carries `needle`; resolves to how many it found. Only
 * pids handed out since `fromPid` are read: a guest's processes were all created after its first
 * one, and Linux hands out pids in increasing order up to pid_max, then wraps.
 */
async function killMarked(needle: Buffer, fromPid = 0): Promise<number> {
  let found = 0;
  let entries: string[];
  let last: number;
  try {
    entries = await readdir('/proc');
    last = await lastPid();
  } catch {
    return 0;
  }
  const wrapped = last < fromPid;
  const since = (pid: number): boolean => (wrapped ? pid >= fromPid || pid <= last : pid >= fromPid);
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry) || !since(Number(entry)) || Number(entry) === process.pid) return;
      try {
        const environ = await readFile(`/proc/${entry}/environ`);
        if (!environ.includes(needle)) return;
        process.kill(Number(entry), 'SIGKILL');
        found++;
      } catch {
        // Gone meanwhile (ESRCH/ENOENT) or not ours to read (EACCES): nothing to kill.
      }
    }),
  );
  return found;
}

/** rmdir of a cgroup whose processes are being killed: they take a moment to leave, so retry. */
async function removeGroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      if (errno(error) === 'ENOENT') return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function writeQuiet(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

/** One invocation's processes: give `env` to spawn, `adopt` the child, `kill`/`hunt` what is left. */
export class ProcessTree {
  /** The guest's environment: only the marker. */
  readonly env: Record<string, string>;
  readonly #needle: Buffer;
  /** The invocation's cgroup to create, and its memory cap (MiB) when the controller is on. */
  readonly #cgroup: { dir: string; memoryMb: number | undefined } | undefined;
  /** Resolves true once the invocation's cgroup exists (memory cap written). */
  #created: Promise<boolean> | undefined;
  /** Resolves true once a process of the call is in the cgroup. */
  #adopted: Promise<boolean> = Promise.resolve(false);
  #inCgroup = false;
  /** The spawned child's pid: everything it started has a higher one. */
  #firstPid = 0;

  constructor(id: string, cgroup?: { dir: string; memoryMb: number | undefined }) {
    this.env = { [MARKER]: id };
    this.#needle = Buffer.from(`${MARKER}=${id}\0`);
    this.#cgroup = cgroup;
  }

  /**
   * Moves a process of the call into the call's own cgroup (created on the first call); what it forks
   * from then on stays there. Called with the spawned child, and with the function the native
   * launcher forked (src/server/runtimes/native/launcher.ts). Off the event loop and after the child
   * has its input: a write to cgroup.procs waits for an RCU grace period (8 ms measured on a loaded
   * 2-vCPU VM), which must delay neither the function nor other invocations. What the child forks
   * before the move is found by the marker scan.
   */
  adopt(pid: number): void {
    if (this.#firstPid === 0) this.#firstPid = pid;
    const cgroup = this.#cgroup;
    if (!cgroup) return;
    this.#created ??= (async () => {
      await mkdir(cgroup.dir);
      if (cgroup.memoryMb !== undefined) {
        await writeFile(join(cgroup.dir, 'memory.max'), String(cgroup.memoryMb * 1024 * 1024));
        await writeFile(join(cgroup.dir, 'memory.swap.max'), '0').catch(() => undefined);
      }
      return true;
    })().catch(() => false);
    const created = this.#created;
    const before = this.#adopted;
    this.#adopted = (async () => {
      const earlier = await before;
      if (!(await created)) return false;
      try {
        await writeFile(join(cgroup.dir, 'cgroup.procs'), String(pid));
        this.#inCgroup = true;
        return true;
      } catch {
        // Gone before the move (a quick function).
        return earlier;
      }
    })();
  }

  /** Kills everything in the invocation's cgroup (synchronous, cheap); nothing before the move. */
  kill(): void {
    if (this.#inCgroup && this.#cgroup) writeQuiet(join(this.#cgroup.dir, 'cgroup.kill'), '1');
  }

  /** `kill` (once the move is done), then the /proc scan for the marker: for when something is known to be left. */
  async hunt(): Promise<number> {
    await this.#adopted;
    this.kill();
    return killMarked(this.#needle, this.#firstPid);
  }

  /** Removes the invocation's cgroup once its processes are gone. */
  async release(): Promise<void> {
    if (!this.#cgroup || !this.#created || !(await this.#created)) return;
    await this.#adopted;
    this.kill();
    await removeGroup(this.#cgroup.dir);
  }
}

/** The process trees of one runtime's invocations (created at the runtime's start). */
export class ProcessTrees {
  readonly #prefix: string;
  readonly #group: { dir: string; memory: boolean } | undefined;
  #next = 0;

  /** `cgroups`: try a cgroup per invocation (opt-in: see the module comment for its cost). */
  constructor(cgroups: boolean) {
    this.#prefix = `${process.pid}.${++instances}`;
    this.#group = cgroups ? createGroup(`nebula-${this.#prefix}`) : undefined;
  }

  /** What every tree id of this instance starts with (`killTrees`). */
  get prefix(): string {
    return this.#prefix;
  }

  /** How escaped processes are found here: `cgroup` (+ the scan) or the scan alone. */
  get mode(): 'cgroup' | 'scan' {
    return this.#group ? 'cgroup' : 'scan';
  }

  /** Whether `memory.max` caps each invocation's whole process tree. */
  get memoryCap(): boolean {
    return this.#group?.memory ?? false;
  }

  /** A tree for one invocation, its cgroup (if any) capped at `maxMemoryMb`. */
  open(maxMemoryMb: number): ProcessTree {
    const id = `${this.#prefix}-${++this.#next}`;
    if (!this.#group) return new ProcessTree(id);
    const dir = join(this.#group.dir, `inv-${this.#next}`);
    return new ProcessTree(id, { dir, memoryMb: this.#group.memory ? maxMemoryMb : undefined });
  }

  /** Kills every process of every invocation of this runtime (shutdown) and removes its cgroup. */
  async killAll(): Promise<void> {
    if (this.#group) writeQuiet(join(this.#group.dir, 'cgroup.kill'), '1');
    await killTrees(this.#prefix);
    if (!this.#group) return;
    const { dir } = this.#group;
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    await Promise.all(children.filter((c) => c.isDirectory()).map((c) => removeGroup(join(dir, c.name))));
    await removeGroup(dir);
  }
}

/**
 * SIGKILLs every process of every tree whose ids start with `prefix` (a ProcessTrees' `prefix`): what
 * the calls of a spawner process that died left running (src/server/runtimes/native/spawner.ts).
 */
export function killTrees(prefix: string): Promise<number> {
  return killMarked(Buffer.from(`${MARKER}=${prefix}-`));
}
