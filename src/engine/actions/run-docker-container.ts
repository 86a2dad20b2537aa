import { createWriteStream } from 'node:fs';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pipeline as pipeStreams } from 'node:stream/promises';
import type { ActionSecrets, ContainerActionSettings as ActionSettings } from '../../domain/action.ts';
import { containerMountPathProblem, parseVolumeMapping } from '../../domain/paths.ts';
import { substitute } from '../../domain/variables.ts';
import {
  ImageMissingError,
  type BindMount,
  type ContainerRuntime,
  type ContainerSpec,
  type RegistryAuth,
} from '../../runtime/container-runtime.ts';
import { registryAuthFor } from '../registry-auth.ts';
import { containerCommand } from '../action-plan.ts';
import { containerFilePath, type ResolvedVariable } from '../variable-scope.ts';
import type { LogWriter } from '../log-store.ts';
import { PathEscapeError, type PipelineFilesystem } from '../pipeline-filesystem.ts';
import {
  linkRegularFile,
  moveInto,
  NotDirectoryError,
  NotFoundError,
  type PinnedDirectory,
  type PinnedEntry,
} from '../pinned-path.ts';
import { stopReason } from '../stop-reason.ts';

/** How one attempt of an action ended: data, not an exception. */
export interface ActionOutcome {
  status: 'SUCCESSFUL' | 'FAILED' | 'TERMINATED';
  error: string | null;
}

/** What an action's container is made from: enough to make it ahead of the action's turn. */
export interface ContainerSetup {
  runtime: ContainerRuntime;
  networkMode: string;
  fs: PipelineFilesystem;
  projectName: string;
  /** Every variable in scope, clear values, for substitution and the container's environment. */
  variables: ReadonlyMap<string, string>;
  secrets: ActionSecrets;
  /** Aborted when the execution is cancelled. */
  signal: AbortSignal;
  labels: Record<string, string>;
  onContainer: (id: string | null) => Promise<void>;
  /** FILE and SSH_KEY variables to write into the container before it starts. */
  files: readonly ResolvedVariable[];
  /** Host directory mounted at OUTPUTS_DIR, where commands can set variables for later actions. */
  outputsDir: string;
  /** The execution's pinned package version, mounted read-only (absent or null when none is pinned). */
  packageMount?: BindMount | null;
  /** Credentials of the workspace integration named by an action's `integration`; null when there is none. */
  resolveIntegration: (identifier: string) => Promise<RegistryAuth | null>;
}

export interface ContainerActionContext extends ContainerSetup {
  cancelGraceSeconds: number;
  log: LogWriter;
  /** Pull even when the image is present (clear_cache). */
  forcePull: boolean;
  /** Clean-up that may finish after the attempt; the execution's end waits for it (the container's removal). */
  afterward: (work: () => Promise<void>) => void;
  /** With use_image_from_action: the image a DOCKERFILE action of this execution built. */
  builtImage?: string;
  /**
   * The container prepareContainer made for this attempt ahead of its turn, if any: used when the
   * attempt would make exactly that container. Whoever made it discards it when it is not used.
   */
  prepared?: Promise<PreparedContainer | null>;
}

/**
 * A container made (created, files placed, checked, attached) ahead of its action's turn, while the run
 * still checks its revision out: the turn then only has to start it.
 */
export interface PreparedContainer {
  readonly id: string;
  /** What it was made from (the spec and the files placed), compared with what the turn would make. */
  readonly key: string;
  /** The attempt takes it over: its output goes to `log` from now on, and the attempt removes it. */
  adopt(log: LogWriter): AttachedOutput;
  /** Detaches and removes it unless it was adopted; safe to call more than once. */
  discard(): Promise<void>;
}

type AttachedOutput = Awaited<ReturnType<ContainerRuntime['attachOutput']>>;

/** Where commands find the file they may append `KEY=value` lines to (also in $GANTRY_OUTPUTS). */
export const OUTPUTS_DIR = '/gantry';
export const OUTPUTS_FILE = `${OUTPUTS_DIR}/outputs.env`;

interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

/** The uid, gid and home of `user` (name or uid) from the image's /etc/passwd; root when not set. */
async function identityOf(
  ctx: ContainerSetup,
  containerId: string,
  user: string | undefined,
): Promise<PasswdEntry> {
  const [name = 'root', group] = (user ?? 'root').split(':');
  const passwd = (await ctx.runtime.readFile(containerId, '/etc/passwd'))?.toString('utf8') ?? '';
  for (const line of passwd.split('\n')) {
    const [entryName, , uid, gid, , home] = line.split(':');
    if (entryName === name || uid === name) {
      return {
        uid: Number(uid),
        gid: group !== undefined && /^\d+$/.test(group) ? Number(group) : Number(gid),
        home: home || '/',
      };
    }
  }
  if (/^\d+$/.test(name))
    return {
      uid: Number(name),
      gid: group !== undefined && /^\d+$/.test(group) ? Number(group) : Number(name),
      home: '/',
    };
  return { uid: 0, gid: 0, home: '/root' };
}

async function placeFiles(ctx: ContainerSetup, containerId: string, user: string | undefined): Promise<void> {
  if (ctx.files.length === 0) return;
  const who = await identityOf(ctx, containerId, user);
  await ctx.runtime.putFiles(
    containerId,
    ctx.files.map((v) => ({
      path: containerFilePath(v.filePath ?? `~/${v.key}`, who.home),
      content: Buffer.from(v.value, 'utf8'),
      mode: parseInt(v.fileChmod ?? '600', 8),
      uid: who.uid,
      gid: who.gid,
    })),
  );
}

class ActionSetupError extends Error {}

/** The image reference: a registry given separately is prefixed unless the name already carries it. */
function imageRef(s: ActionSettings, vars: ReadonlyMap<string, string>): string {
  const name = substitute(s.docker_image_name, vars);
  const tag = substitute(s.docker_image_tag, vars);
  const registry = s.registry
    ? substitute(s.registry, vars)
        .replace(/^https?:\/\//, '')
        .replace(/\/+$/, '')
    : null;
  const full = registry && !name.startsWith(registry + '/') ? `${registry}/${name}` : name;
  return `${full}:${tag}`;
}

/**
 * The container's bind mounts. Directories named by volume_mappings are pinned by descriptor (mounted through
 * the descriptor, see pinned-path.ts) and regular files by a hard link in the pipeline's private directory;
 * both are handed back in `held`, to be released once the container has started (the engine mounts at start).
 */
async function mounts(
  s: ActionSettings,
  ctx: ContainerSetup,
  workDir: string,
  held: HeldMounts,
): Promise<BindMount[]> {
  const binds: BindMount[] = [{ hostPath: ctx.outputsDir, containerPath: OUTPUTS_DIR }];
  if (!s.mount_filesystem_disable) binds.push({ hostPath: ctx.fs.workTree, containerPath: workDir });
  if (ctx.packageMount) binds.push(ctx.packageMount);
  for (const raw of s.volume_mappings) {
    const parsed = parseVolumeMapping(substitute(raw, ctx.variables));
    if (typeof parsed === 'string') throw new ActionSetupError(parsed);
    let dir: PinnedDirectory;
    try {
      dir = ctx.fs.pinDirectory(parsed.source, { create: true });
    } catch (err) {
      if (!(err instanceof NotDirectoryError)) throw err;
      binds.push({ hostPath: linkFile(ctx, parsed.source, held), containerPath: parsed.target });
      continue;
    }
    held.dirs.push(dir);
    binds.push({ hostPath: dir.hostPath, containerPath: parsed.target, pinned: true });
  }
  return binds;
}

/** Descriptors and links that keep volume mapping sources fixed until the container has started. */
interface HeldMounts {
  dirs: PinnedDirectory[];
  links: string[];
}

function releaseMounts(held: HeldMounts): void {
  for (const dir of held.dirs.splice(0)) dir.close();
  for (const link of held.links.splice(0)) rmSync(link, { force: true });
}

/** A volume mapping of a regular file: bound through a hard link no container can reach. */
function linkFile(ctx: ContainerSetup, source: string, held: HeldMounts): string {
  const entry = ctx.fs.pinEntry(source);
  try {
    const link = linkRegularFile(entry, ctx.fs.privateDir, `bind-${randomUUID()}`, source);
    held.links.push(link);
    return link;
  } finally {
    entry.dir.close();
  }
}

async function ensureImage(ref: string, s: ActionSettings, ctx: ContainerActionContext): Promise<void> {
  // Resolved before the presence check, so a missing or mismatched integration fails every run alike.
  const auth = await registryAuthFor(s, ctx.secrets.password, ref, ctx.variables, ctx.resolveIntegration);
  const present = await ctx.runtime.imageExists(ref);
  if (present && !ctx.forcePull) return;
  await ctx.log.line(`Pulling image ${ref}...`);
  try {
    await ctx.runtime.pullImage(ref, auth);
  } catch (err) {
    // clear_cache asks for a fresh copy, not for the run to fail: an image built on this engine (or a
    // registry that is down) still has a usable local copy.
    if (!present) throw err;
    await ctx.log.line(`Could not refresh ${ref} (${(err as Error).message}); using the local image.`);
  }
}

/** The container an attempt makes, and `key`: the same string for the same container. */
interface ContainerPlan {
  spec: ContainerSpec;
  user: string | undefined;
  key: string;
}

/**
 * The container of image `ref` for settings `s`: working directory, command, user, environment and mounts
 * (volume mappings are pinned here, into `held`).
 */
async function planContainer(
  s: ActionSettings,
  ctx: ContainerSetup,
  ref: string,
  held: HeldMounts,
): Promise<ContainerPlan> {
  const vars = ctx.variables;
  const workDir = substitute(s.mount_filesystem_path ?? `/buddy/${ctx.projectName}`, vars);
  const workDirProblem = containerMountPathProblem(workDir, 'mount_filesystem_path');
  if (workDirProblem !== null && !s.mount_filesystem_disable) throw new ActionSetupError(workDirProblem);
  const command = containerCommand(
    s.entrypoint === null ? null : substitute(s.entrypoint, vars),
    s.inline_commands,
  );
  const user = s.run_as_user ? substitute(s.run_as_user, vars) : undefined;
  const binds = await mounts(s, ctx, workDir, held);
  const spec: ContainerSpec = {
    image: ref,
    ...command,
    env: { ...Object.fromEntries(vars), GANTRY_OUTPUTS: OUTPUTS_FILE },
    ...(user ? { user } : {}),
    ...(s.mount_filesystem_disable ? {} : { workingDir: workDir }),
    binds,
    labels: ctx.labels,
    networkMode: ctx.networkMode,
  };
  return { spec, user, key: JSON.stringify([spec, user ?? null, ctx.files]) };
}

/**
 * Makes the container of an action's first attempt ahead of its turn (see PreparedContainer), or
 * answers null when it cannot be made yet without side effects on the run: its image is not on the
 * engine (a pull writes to the log), or it has volume mappings (pinned in the work tree, which the
 * checkout is still writing). Any failure also answers null, after removing what was made: the turn
 * then makes the container itself and reports what fails.
 */
export async function prepareContainer(
  s: ActionSettings,
  ctx: ContainerSetup,
): Promise<PreparedContainer | null> {
  if (s.volume_mappings.length > 0) return null;
  let id: string | null = null;
  let output: AttachedOutput | null = null;
  /** Where output goes: nowhere until adopted, and the container starts only after that. */
  let log: LogWriter | null = null;
  let state: 'prepared' | 'adopted' | 'discarded' = 'prepared';
  /** The record of the container on its action execution, written while it is filled and attached. */
  let recorded: Promise<void> | null = null;
  const discard = async (): Promise<void> => {
    if (state !== 'prepared') return;
    state = 'discarded';
    output?.detach();
    if (id === null) return;
    await ctx.runtime.removeContainer(id).catch(() => undefined);
    await recorded?.catch(() => undefined);
    await ctx.onContainer(null).catch(() => undefined);
  };
  try {
    const ref = imageRef(s, ctx.variables);
    // As ensureImage does first: an integration that fails fails at the action's turn, in its log.
    await registryAuthFor(s, ctx.secrets.password, ref, ctx.variables, ctx.resolveIntegration);
    if (!(await ctx.runtime.imageExists(ref))) return null;
    const plan = await planContainer(s, ctx, ref, { dirs: [], links: [] });
    if (ctx.signal.aborted) return null;
    const created = await ctx.runtime.createContainer(plan.spec);
    id = created;
    recorded = ctx.onContainer(created);
    recorded.catch(() => undefined);
    await placeFiles(ctx, created, plan.user);
    await ctx.runtime.checkStart(created);
    output = await ctx.runtime.attachOutput(created, (chunk, stream) => log?.write(chunk, stream));
    await recorded;
    const attached = output;
    return {
      id: created,
      key: plan.key,
      adopt(to) {
        state = 'adopted';
        log = to;
        return attached;
      },
      discard,
    };
  } catch {
    await discard();
    return null;
  }
}

/**
 * Runs one attempt of a RUN_DOCKER_CONTAINER action: pull when needed, create with the pipeline
 * filesystem mounted (or adopt the container prepared for it), stream output into the log, enforce the
 * timeout and cancellation, export the filesystem when asked, and always remove the container.
 */
export async function runContainerAction(
  s: ActionSettings,
  ctx: ContainerActionContext,
): Promise<ActionOutcome> {
  const vars = ctx.variables;
  let containerId: string | null = null;
  let output: AttachedOutput | null = null;
  let started = false;
  let timedOut = false;
  let cancelled = false;
  const held: HeldMounts = { dirs: [], links: [] };
  try {
    const ref = ctx.builtImage ?? imageRef(s, vars);
    const prepared = (await ctx.prepared) ?? null;
    let plan: ContainerPlan | null = null;
    if (prepared !== null) {
      // Prepared containers have no volume mappings, so planning pins nothing.
      plan = await planContainer(s, ctx, ref, held);
      if (plan.key === prepared.key) {
        output = prepared.adopt(ctx.log);
        containerId = prepared.id;
      }
    }
    if (containerId === null) {
      if (ctx.builtImage === undefined) await ensureImage(ref, s, ctx);
      else if (!(await ctx.runtime.imageExists(ref)))
        throw new ActionSetupError(`the image built earlier in this execution (${ref}) is gone`);
      plan ??= await planContainer(s, ctx, ref, held);
      try {
        containerId = await ctx.runtime.createContainer(plan.spec);
      } catch (err) {
        // The runtime knew the image from an earlier action, but it has been removed since: get it again.
        if (!(err instanceof ImageMissingError) || ctx.builtImage !== undefined) throw err;
        await ensureImage(ref, s, ctx);
        containerId = await ctx.runtime.createContainer(plan.spec);
      }
      await ctx.onContainer(containerId);
      await placeFiles(ctx, containerId, plan.user);
      await ctx.runtime.checkStart(containerId);
      if (ctx.signal.aborted) throw new ActionCancelled();
      // Bytes go to the log as they come: it splits them at newlines, so no character is ever cut.
      output = await ctx.runtime.attachOutput(containerId, (chunk, stream) => ctx.log.write(chunk, stream));
    }
    // The last point to give up without starting: the attachment is then ended here (the engine never
    // ends one to a container removed without being started), and a cancel that arrives later stops
    // the started container below.
    if (ctx.signal.aborted) throw new ActionCancelled();
    const { done } = output!;
    await ctx.runtime.startContainer(containerId);
    started = true;
    releaseMounts(held);
    const id = containerId;
    const stop = (): void => {
      ctx.runtime.stopContainer(id, ctx.cancelGraceSeconds).catch(() => undefined);
    };
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // A cancel that arrived while attaching or starting fired before there was a listener; without this
    // the action would run to its natural end (600 s of `sleep 600`) with the execution TERMINATING.
    if (ctx.signal.aborted) onAbort();
    const timer =
      s.timeout !== null
        ? setTimeout(() => {
            timedOut = true;
            ctx.runtime.stopContainer(id, 0).catch(() => undefined);
          }, s.timeout * 1000)
        : null;
    let exitCode: number;
    try {
      ({ exitCode } = await ctx.runtime.waitContainer(id));
      await done;
    } finally {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (cancelled) return { status: 'TERMINATED', error: stopReason(ctx.signal) };
    if (timedOut) return { status: 'FAILED', error: `timed out after ${s.timeout} s` };
    if (exitCode !== 0) return { status: 'FAILED', error: `exit code ${exitCode}` };
    if (s.export_container_path !== null)
      await exportFilesystem(id, substitute(s.export_container_path, vars), ctx);
    return { status: 'SUCCESSFUL', error: null };
  } catch (err) {
    if (err instanceof ActionCancelled || ctx.signal.aborted)
      return { status: 'TERMINATED', error: stopReason(ctx.signal) };
    const message = (err as Error).message;
    await ctx.log.line(`Error: ${message}`).catch(() => undefined);
    return { status: 'FAILED', error: message };
  } finally {
    if (output !== null && !started) output.detach();
    releaseMounts(held);
    if (containerId !== null) {
      // Exited (or never started), its output read and its filesystem exported: the engine removes it
      // while the next action starts.
      const id = containerId;
      ctx.afterward(async () => {
        await ctx.runtime.removeContainer(id).catch(() => undefined);
        await ctx.onContainer(null);
      });
    }
  }
}

class ActionCancelled extends Error {}

/**
 * Writes the container's filesystem as a tar to `target` in the pipeline filesystem: first to a file in the
 * pipeline's private directory (same filesystem), then renamed into the pinned target directory, so no link a
 * container plants or swaps in can redirect the write.
 */
async function exportFilesystem(
  containerId: string,
  target: string,
  ctx: ContainerActionContext,
): Promise<void> {
  let entry: PinnedEntry;
  try {
    entry = ctx.fs.pinEntry(target, { createParents: true });
  } catch (err) {
    if (err instanceof PathEscapeError || err instanceof NotDirectoryError)
      throw new ActionSetupError(`export_container_path: ${err.message}`);
    throw err;
  }
  const temp = path.join(ctx.fs.privateDir, `export-${randomUUID()}.tar`);
  try {
    await ctx.log.line(`Exporting the container's filesystem to ${target}...`);
    await pipeStreams(
      await ctx.runtime.exportContainer(containerId),
      createWriteStream(temp, { flags: 'wx' }),
    );
    try {
      moveInto(temp, entry, target);
    } catch (err) {
      if (err instanceof NotDirectoryError || err instanceof NotFoundError)
        throw new ActionSetupError(`export_container_path: ${err.message}`);
      throw err;
    }
  } finally {
    entry.dir.close();
    await rm(temp, { force: true });
  }
}
