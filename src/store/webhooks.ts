import type { Selectable, Transaction } from 'kysely';
import type { Db } from './database.ts';
import type { Database, WebhookDeliveriesTable, WorkspaceWebhooksTable } from './schema.ts';
import { now } from './time.ts';

export type WebhookRow = Selectable<WorkspaceWebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
type Writer = Db | Transaction<Database>;

export async function listWebhooks(db: Db, workspaceId: number): Promise<WebhookRow[]> {
  return db
    .selectFrom('workspace_webhooks')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('id')
    .execute();
}

export async function getWebhook(db: Db, workspaceId: number, id: number): Promise<WebhookRow | undefined> {
  return db
    .selectFrom('workspace_webhooks')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function createWebhook(
  db: Db,
  w: Omit<WorkspaceWebhooksTable, 'id' | 'create_date'>,
): Promise<WebhookRow> {
  return db
    .insertInto('workspace_webhooks')
    .values({ ...w, create_date: now() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateWebhook(
  db: Db,
  id: number,
  w: Partial<Omit<WorkspaceWebhooksTable, 'id' | 'create_date' | 'workspace_id'>>,
): Promise<WebhookRow> {
  return db
    .updateTable('workspace_webhooks')
    .set(w)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteWebhook(db: Db, id: number): Promise<void> {
  await db.deleteFrom('workspace_webhooks').where('id', '=', id).execute();
}

/** Webhooks of a workspace that want `event` (inside the caller's transaction). */
export async function webhooksFor(w: Writer, workspaceId: number, event: string): Promise<WebhookRow[]> {
  const rows = await w
    .selectFrom('workspace_webhooks')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .execute();
  return rows.filter((r) => (JSON.parse(r.events) as string[]).includes(event));
}

/** Writes deliveries to the outbox (inside the caller's transaction, so they commit with what they report). */
export async function enqueueDeliveries(
  w: Writer,
  rows: { webhook_id: number; event: string; payload: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  const at = now();
  await w
    .insertInto('webhook_deliveries')
    .values(
      rows.map((r) => ({
        ...r,
        status: 'PENDING',
        attempts: 0,
        next_attempt_at: at,
        claimed_until: null,
        post_date: null,
        response_status: null,
        response_body: null,
        create_date: at,
      })),
    )
    .execute();
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`: each by a conditional UPDATE, so two dispatchers
 * (or two servers) never send the same attempt. A crashed sender's lease runs out and the delivery is
 * tried again.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
  const at = now();
  const candidates = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('status', '=', 'PENDING')
    .where('next_attempt_at', '<=', at)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', at)]))
    .orderBy('id')
    .limit(limit)
    .execute();
  const lease = new Date(Date.now() + leaseMs).toISOString();
  const claimed: DeliveryRow[] = [];
  for (const c of candidates) {
    const result = await db
      .updateTable('webhook_deliveries')
      .set({ claimed_until: lease })
      .where('id', '=', c.id)
      .where('status', '=', 'PENDING')
      .where((eb) =>
        c.claimed_until === null
          ? eb('claimed_until', 'is', null)
          : eb('claimed_until', '=', c.claimed_until),
      )
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) claimed.push({ ...c, claimed_until: lease });
  }
  return claimed;
}

export async function recordAttempt(
  db: Db,
  id: number,
  a: {
    status: string;
    attempts: number;
    next_attempt_at: string;
    post_date: string;
    response_status: string;
    response_body: string;
  },
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ ...a, claimed_until: null })
    .where('id', '=', id)
    .execute();
}

export async function earliestDelivery(db: Db): Promise<string | null> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.min('next_attempt_at').as('at'))
    .where('status', '=', 'PENDING')
    .executeTakeFirst();
  return (row?.at as string | null | undefined) ?? null;
}

export async function recentDeliveries(db: Db, webhookId: number, limit = 20): Promise<DeliveryRow[]> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where('post_date', 'is not', null)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
