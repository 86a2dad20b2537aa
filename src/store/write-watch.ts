import {
  DeleteQueryNode,
  InsertQueryNode,
  RawNode,
  TableNode,
  UpdateQueryNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

/**
 * Counts writes to a set of tables, seen as Kysely builds them: a cache of rows of those tables keeps
 * the generation it was filled at and is stale once the counter moved. Raw SQL counts as a write to
 * every table (it cannot be read cheaply). The counter moves before the write runs and again after it,
 * so a read that overlapped the write never fills a cache entry that outlives it.
 *
 * Only writes through this process's Kysely instance are seen; other processes (the CLI, a second
 * server on the same database) are covered by the callers' own time bound.
 */
export class WriteWatch implements KyselyPlugin {
  private count = 0;
  /** Queries (Kysely's query ids) whose result must move the counter again. */
  private readonly pending = new WeakSet<object>();

  constructor(private readonly tables: ReadonlySet<string>) {}

  /** Moves whenever a watched table may have changed. */
  get generation(): number {
    return this.count;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.touchesWatched(args.node)) {
      this.count += 1;
      this.pending.add(args.queryId);
    }
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.pending.delete(args.queryId)) this.count += 1;
    return Promise.resolve(args.result);
  }

  private touchesWatched(node: RootOperationNode): boolean {
    if (RawNode.is(node as OperationNode)) return true;
    let table: OperationNode | undefined;
    if (InsertQueryNode.is(node)) table = node.into;
    else if (UpdateQueryNode.is(node)) table = node.table;
    else if (DeleteQueryNode.is(node)) table = node.from.froms[0];
    else return false;
    // An aliased or joined table is no TableNode here: treat what cannot be named as watched.
    if (!table || !TableNode.is(table)) return true;
    return this.tables.has(table.table.identifier.name);
  }
}
