import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { Ajv, AnySchema, ValidateFunction } from 'ajv';

/**
 * Validators and serialisers compiled per route on first use instead of all at start.
 *
 * Fastify compiles, for every route, an Ajv validator per request part and a fast-json-stringify
 * serialiser per response status as the server starts: a few hundred generated functions, most of
 * which a given server never calls. Compiling them at start cost a large part of the idle server's
 * memory and of its start-up time. Here each compiler hands Fastify a small function that compiles the
 * real one at its first call and forwards to it from then on, so a route answers exactly as before:
 * the same compilers, the same options, the same generated code, the same error objects and bytes.
 *
 * Every schema is still compiled by the test suite (`compileAllSchemas`), so a schema the compilers
 * reject fails a test, not a request.
 */
export class LazySchemas {
  private readonly pending = new Set<() => unknown>();

  /** Fastify's validatorCompiler: `pick` chooses the Ajv instance for the request part. */
  validatorCompiler(pick: (httpPart: string | undefined) => Ajv) {
    return ({ schema, httpPart }: { schema: AnySchema; httpPart?: string }): ValidateFunction =>
      this.validator(() => pick(httpPart).compile(schema));
  }

  /** Fastify's `schemaController.compilersFactory.buildSerializer`: its default, compiled lazily. */
  readonly buildSerializer = (
    ...args: Parameters<ReturnType<typeof SerializerSelector>>
  ): ((
    route: Parameters<ReturnType<ReturnType<typeof SerializerSelector>>>[0],
  ) => (data: unknown) => string) => {
    const compile = SerializerSelector()(...args);
    return (route) => this.serializer(() => compile(route));
  };

  /** How many validators and serialisers are not compiled yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Compiles every validator and serialiser not yet compiled (the tests: every schema must compile). */
  compileAll(): number {
    const all = [...this.pending];
    for (const compile of all) compile();
    return all.length;
  }

  private validator(compile: () => ValidateFunction): ValidateFunction {
    const real = this.onFirstUse(compile);
    // Ajv reports a failure's errors on the function itself, where Fastify reads them.
    const validate = function (this: unknown, data: unknown, dataCtx?: unknown): boolean {
      const fn = real();
      const valid = fn.call(this, data, dataCtx as never) as boolean;
      validate.errors = fn.errors;
      return valid;
    } as ValidateFunction;
    // Fastify passes the request as the parent of the validated part to a function with `schemaEnv`
    // (every Ajv validator has it), so coercion and defaults can replace the part itself.
    (validate as { schemaEnv: unknown }).schemaEnv = true;
    return validate;
  }

  private serializer(compile: () => (data: unknown) => string): (data: unknown) => string {
    const real = this.onFirstUse(compile);
    return (data) => real()(data);
  }

  /** `compile`'s result, compiled at the first call (or by compileAll) and kept; pending until then. */
  private onFirstUse<T>(compile: () => T): () => T {
    let real: T | null = null;
    const ensure = (): T => {
      if (real === null) {
        real = compile();
        this.pending.delete(ensure);
      }
      return real;
    };
    this.pending.add(ensure);
    return ensure;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The route schemas' compilers: how many are pending, and compiling all of them now (tests). */
    schemaCompilation: { pending(): number; compileAll(): number };
  }
}
