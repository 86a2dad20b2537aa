import type { Kysely } from 'kysely';

/** The two tables this migration touches, as they stood when it was written. */
interface Tables {
  tokens: { id: string; workspace_restrictions: string };
  workspaces: { id: number; domain: string };
}

/**
 * Token workspace restrictions name workspaces by id instead of domain. A domain can be renamed or
 * freed and taken by another workspace, which would move a restricted token's access with it; ids are
 * never reused (AUTOINCREMENT). A domain that names no workspace becomes id 0, which matches none, so
 * no token ends up less restricted than before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const k = db as unknown as Kysely<Tables>;
  const idOf = new Map(
    (await k.selectFrom('workspaces').select(['id', 'domain']).execute()).map((w) => [w.domain, w.id]),
  );
  for (const t of await k.selectFrom('tokens').select(['id', 'workspace_restrictions']).execute()) {
    const entries = JSON.parse(t.workspace_restrictions) as unknown[];
    const ids = entries.map((d) =>
      typeof d === 'string' ? (idOf.get(d) ?? 0) : typeof d === 'number' ? d : 0,
    );
    await k
      .updateTable('tokens')
      .set({ workspace_restrictions: JSON.stringify(ids) })
      .where('id', '=', t.id)
      .execute();
  }
}
