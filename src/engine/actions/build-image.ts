import { closeSync, readFileSync } from 'node:fs';
import type { DockerfileActionSettings } from '../../domain/action.ts';
import { substitute } from '../../domain/variables.ts';
import { parseDockerfile, rootRunStep, type BaseImageConfig } from '../../domain/dockerfile-user.ts';
import type { ContainerRuntime, RegistryAuth } from '../../runtime/container-runtime.ts';
import { CONTEXT_DOCKERFILE, packBuildContext } from '../build-context.ts';
import type { LogWriter } from '../log-store.ts';
import { PathEscapeError, type PipelineFilesystem } from '../pipeline-filesystem.ts';
import { NotDirectoryError, NotFoundError, openRegularFile } from '../pinned-path.ts';
import { qualifiedRef, RegistryAuthError, registryAuthFor } from '../registry-auth.ts';
import type { ActionOutcome } from './run-docker-container.ts';

/** The tag under which later actions of the same execution find the image a DOCKERFILE action built. */
export function builtImageRef(actionExecutionId: string): string {
  return `gantry-build/${actionExecutionId}:latest`;
}

export interface BuildActionContext {
  runtime: ContainerRuntime;
  networkMode: string;
  fs: PipelineFilesystem;
  variables: ReadonlyMap<string, string>;
  password: string | undefined;
  log: LogWriter;
  labels: Record<string, string>;
  actionExecutionId: string;
  resolveIntegration: (identifier: string) => Promise<RegistryAuth | null>;
}

/** Tags the built image gets: the execution-internal one, and `registry/repository:tag` when a repository is named. */
export function buildTags(
  s: DockerfileActionSettings,
  actionExecutionId: string,
  vars: ReadonlyMap<string, string>,
): string[] {
  const tags = [builtImageRef(actionExecutionId)];
  if (s.repository)
    tags.push(
      qualifiedRef(
        s.registry ? substitute(s.registry, vars) : null,
        substitute(s.repository, vars),
        substitute(s.docker_image_tag, vars),
      ),
    );
  return tags;
}

/**
 * Runs a DOCKERFILE action: reads the Dockerfile and the context inside the pipeline filesystem
 * (symlinks resolved and confined), streams the build output into the action's log, and tags the image.
 */
export async function runBuildAction(
  s: DockerfileActionSettings,
  ctx: BuildActionContext,
): Promise<ActionOutcome> {
  const vars = ctx.variables;
  try {
    let dockerfile: Buffer;
    try {
      dockerfile = readDockerfile(ctx.fs, substitute(s.dockerfile_path, vars));
    } catch (err) {
      if (!(err instanceof NotDirectoryError || err instanceof NotFoundError)) throw err;
      return { status: 'FAILED', error: `dockerfile_path "${s.dockerfile_path}" is not a file` };
    }
    const contextPath = substitute(s.context_path, vars);
    try {
      // Checked before anything else; pinned again when packed.
      ctx.fs.pinDirectory(contextPath).close();
    } catch (err) {
      if (!(err instanceof NotDirectoryError || err instanceof NotFoundError)) throw err;
      return { status: 'FAILED', error: `context_path "${s.context_path}" is not a directory` };
    }
    const buildArgs: Record<string, string> = {};
    for (const arg of s.build_args) {
      const [key, ...rest] = substitute(arg, vars).split('=');
      buildArgs[key!] = rest.join('=');
    }
    if (ctx.runtime.forbidsRoot) {
      const refusal = await rootBuildRefusal(ctx.runtime, dockerfile, buildArgs);
      if (refusal !== null) {
        const message = `this server forbids running actions as root (forbidRoot): ${refusal}`;
        await ctx.log.line(`Error: ${message}`);
        return { status: 'FAILED', error: message };
      }
    }
    const tags = buildTags(s, ctx.actionExecutionId, vars);
    const auth = await registryAuthFor(s, ctx.password, tags[1] ?? '', vars, ctx.resolveIntegration);
    await ctx.log.line(`Building ${tags.join(', ')} from ${s.dockerfile_path}...`);
    await ctx.runtime.buildImage({
      context: await packBuildContext(ctx.fs.pinDirectory(contextPath), dockerfile),
      dockerfile: CONTEXT_DOCKERFILE,
      tags,
      buildArgs,
      ...(s.target_platform ? { platform: substitute(s.target_platform, vars) } : {}),
      networkMode: ctx.networkMode,
      labels: ctx.labels,
      ...(auth ? { auth } : {}),
      onOutput: (line) => void ctx.log.line(line),
    });
    return { status: 'SUCCESSFUL', error: null };
  } catch (err) {
    const message =
      err instanceof PathEscapeError || err instanceof RegistryAuthError
        ? err.message
        : (err as Error).message;
    await ctx.log.line(`Error: ${message}`);
    return { status: 'FAILED', error: message };
  }
}

/**
 * Under forbidRoot, why the build would run a RUN step as root (see dockerfile-user.ts), or null. Checks
 * the exact bytes that are then packed into the context. Base images not on the engine are pulled first
 * (without credentials, as the classic builder would), so their user and ONBUILD triggers can be read.
 */
async function rootBuildRefusal(
  runtime: ContainerRuntime,
  dockerfile: Buffer,
  buildArgs: Readonly<Record<string, string>>,
): Promise<string | null> {
  const parsed = parseDockerfile(dockerfile.toString('utf8'), buildArgs);
  const images = new Map<string, BaseImageConfig | null>();
  for (const ref of parsed.baseImages) {
    let config = await runtime.imageConfig(ref);
    if (config === null) {
      await runtime.pullImage(ref).catch(() => undefined);
      config = await runtime.imageConfig(ref);
    }
    images.set(ref, config);
  }
  return rootRunStep(parsed, images);
}

/** The Dockerfile's content, opened inside the pipeline filesystem without following a link out. */
function readDockerfile(fs: PipelineFilesystem, userPath: string): Buffer {
  const { dir, name } = fs.pinEntry(userPath);
  try {
    const fd = openRegularFile(dir.entry(name), userPath);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } finally {
    dir.close();
  }
}
