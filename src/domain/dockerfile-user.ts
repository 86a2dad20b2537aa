/**
 * forbidRoot for DOCKERFILE actions: which user each `RUN` step of a classic (non-BuildKit) build runs
 * as, found from the Dockerfile alone plus each base image's configured user and ONBUILD triggers. The
 * builder runs a RUN step as the stage's current USER; a stage starts with its base image's user (root
 * when it has none) or, `FROM <earlier stage>`, that stage's last user.
 *
 * Only a numeric, non-zero uid passes: a user *name* is resolved by the build container's own
 * /etc/passwd, which the build itself can replace (`COPY passwd /etc/passwd`, then `USER evil`), so no
 * name can be trusted not to be uid 0. A USER written with a variable is refused for the same reason: it
 * is not known before the build.
 */

/** What the engine says about a base image: its Config.User and Config.OnBuild. */
export interface BaseImageConfig {
  user: string;
  onBuild: string[];
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  /** FROM's image (variables substituted) or an earlier stage's name. */
  from: string;
  name: string | null;
  line: number;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions: comments dropped, continuation lines joined (escape directive honoured). */
function instructions(text: string): Instruction[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let escape = '\\';
  // Parser directives come first, as `# key=value` comments; only `escape` changes parsing here.
  for (const line of lines) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\'))
      escape = directive[2];
  }
  const out: Instruction[] = [];
  let current: { text: string; line: number } | null = null;
  for (const [i, raw] of lines.entries()) {
    const trimmed = raw.trim();
    if (current === null) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      current = { text: '', line: i + 1 };
    } else if (trimmed.startsWith('#')) {
      continue; // comment lines inside a continued instruction are dropped by the builder
    }
    if (trimmed.endsWith(escape)) {
      current.text += trimmed.slice(0, -1) + ' ';
      continue;
    }
    current.text += trimmed;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(current.text.trim());
    if (match) out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: current.line });
    current = null;
  }
  if (current !== null && current.text.trim() !== '') {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(current.text.trim());
    if (match) out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: current.line });
  }
  return out;
}

/** $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt} from `vars`; null when a variable is not known. */
function substitute(value: string, vars: ReadonlyMap<string, string>): string | null {
  let unknown = false;
  const result = value.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (
      _m,
      braced: string | undefined,
      op: string | undefined,
      word: string | undefined,
      bare: string | undefined,
    ) => {
      const name = (braced ?? bare)!;
      const set = vars.get(name);
      if (op === '-') return set !== undefined && set !== '' ? set : word!;
      if (op === '+') return set !== undefined && set !== '' ? word! : '';
      if (set === undefined) unknown = true;
      return set ?? '';
    },
  );
  return unknown ? null : result;
}

/** ARG declarations (`ARG A=1 B`) with build arguments overriding defaults. */
function declareArgs(
  args: string,
  into: Map<string, string>,
  buildArgs: Readonly<Record<string, string>>,
): void {
  for (const decl of args.split(/\s+/).filter((d) => d !== '')) {
    const eq = decl.indexOf('=');
    const name = eq < 0 ? decl : decl.slice(0, eq);
    const fallback = eq < 0 ? undefined : decl.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    const value = buildArgs[name] ?? fallback;
    if (value !== undefined) into.set(name, value);
  }
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** Base images to ask the engine about (not `scratch`, not earlier stages); null entries could not be resolved. */
  baseImages: string[];
  /** A problem found while parsing (a FROM with an unknown variable), or null. */
  problem: string | null;
}

/** The stages of a Dockerfile and the base images they name, with ARGs before the first FROM substituted. */
export function parseDockerfile(text: string, buildArgs: Readonly<Record<string, string>>): ParsedDockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  const names = new Set<string>();
  const baseImages = new Set<string>();
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => w !== '' && !w.startsWith('--'));
      const image = substitute(words[0] ?? '', globalArgs);
      if (image === null || image === '')
        return {
          stages,
          baseImages: [],
          problem: `line ${ins.line}: FROM ${ins.args} names an image not known before the build`,
        };
      const name = words[1]?.toUpperCase() === 'AS' ? (words[2] ?? '').toLowerCase() : null;
      stages.push({ from: image, name, line: ins.line, instructions: [] });
      if (!names.has(image.toLowerCase()) && image.toLowerCase() !== 'scratch') baseImages.add(image);
      if (name) names.add(name);
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') declareArgs(ins.args, globalArgs, buildArgs);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { stages, baseImages: [...baseImages], problem: null };
}

/** Why `user` (a USER value or an image's configured user) is not a numeric non-zero uid, or null when it is. */
function notSafeUser(user: string): string | null {
  const uid = user.trim().split(':')[0] ?? '';
  if (uid === '') return 'root (no user set)';
  if (uid.includes('$')) return `"${user}" (a variable, not known before the build)`;
  if (!/^\d+$/.test(uid)) return `"${user}" (a name; the build's own /etc/passwd decides its uid)`;
  if (Number(uid) === 0) return `"${user}" (uid 0)`;
  return null;
}

/**
 * The first RUN step (including a base image's ONBUILD RUN triggers) that would not run as a numeric
 * non-zero uid, as a message for the action's error; null when there is none. `images` holds what the
 * engine said about each of `parseDockerfile(...).baseImages` (null: not on the engine after a pull).
 */
export function rootRunStep(
  parsed: ParsedDockerfile,
  images: ReadonlyMap<string, BaseImageConfig | null>,
): string | null {
  if (parsed.problem) return parsed.problem;
  const finalUser = new Map<string, string>();
  for (const stage of parsed.stages) {
    let user: string;
    let steps = stage.instructions;
    const earlier = finalUser.get(stage.from.toLowerCase());
    if (earlier !== undefined) user = earlier;
    else if (stage.from.toLowerCase() === 'scratch') user = '';
    else {
      const config = images.get(stage.from);
      if (!config)
        return `line ${stage.line}: the base image ${stage.from} is not on the engine, so its user cannot be checked`;
      user = config.user;
      // The base image's ONBUILD triggers run first, right after FROM, as its user.
      steps = [
        ...config.onBuild.flatMap((t) => instructions(t).map((i) => ({ ...i, line: stage.line }))),
        ...steps,
      ];
    }
    for (const ins of steps) {
      if (ins.keyword === 'USER') user = ins.args.trim();
      else if (ins.keyword === 'RUN') {
        const why = notSafeUser(user);
        if (why !== null)
          return `line ${ins.line}: RUN would run as ${why}; with forbidRoot every RUN step must follow a USER with a numeric uid other than 0`;
      }
    }
    if (stage.name) finalUser.set(stage.name, user);
  }
  return null;
}
