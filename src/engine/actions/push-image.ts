import type { DockerPushActionSettings } from '../../domain/action.ts';
import { substitute } from '../../domain/variables.ts';
import type { ContainerRuntime, RegistryAuth } from '../../runtime/container-runtime.ts';
import type { LogWriter } from '../log-store.ts';
import { qualifiedRef, registryAuthFor } from '../registry-auth.ts';
import type { ActionOutcome } from './run-docker-container.ts';

export interface PushActionContext {
  runtime: ContainerRuntime;
  variables: ReadonlyMap<string, string>;
  password: string | undefined;
  log: LogWriter;
  /** The image a DOCKERFILE action of this execution built (see builtImageRef). */
  sourceImage: string;
  resolveIntegration: (identifier: string) => Promise<RegistryAuth | null>;
  /** Records a tag this action added, so the execution can prune it with the build's images. */
  onTagged: (ref: string) => void;
}

/** Runs a DOCKER_PUSH action: tags the built image as `registry/repository:tag` and pushes it with the action's credentials. */
export async function runPushAction(
  s: DockerPushActionSettings,
  ctx: PushActionContext,
): Promise<ActionOutcome> {
  const vars = ctx.variables;
  try {
    const target = qualifiedRef(
      s.registry ? substitute(s.registry, vars) : null,
      substitute(s.repository, vars),
      substitute(s.docker_image_tag, vars),
    );
    const auth = await registryAuthFor(s, ctx.password, target, vars, ctx.resolveIntegration);
    await ctx.runtime.tagImage(ctx.sourceImage, target);
    ctx.onTagged(target);
    await ctx.log.line(`Pushing ${target}...`);
    await ctx.runtime.pushImage(target, auth, (line) => void ctx.log.line(line));
    await ctx.log.line(`Pushed ${target}`);
    return { status: 'SUCCESSFUL', error: null };
  } catch (err) {
    const message = (err as Error).message;
    await ctx.log.line(`Error: ${message}`);
    return { status: 'FAILED', error: message };
  }
}
