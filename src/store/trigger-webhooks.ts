import type { Db } from './database.ts';
import type { Selectable } from 'kysely';
import type { PipelineTriggerWebhooksTable } from './schema.ts';
import { now } from './time.ts';

export type TriggerWebhookRow = Selectable<PipelineTriggerWebhooksTable>;

export async function getTriggerWebhook(db: Db, pipelineId: number): Promise<TriggerWebhookRow | undefined> {
  return db
    .selectFrom('pipeline_trigger_webhooks')
    .selectAll()
    .where('pipeline_id', '=', pipelineId)
    .executeTakeFirst();
}

/** Creates or replaces the pipeline's trigger webhook secrets (TOTP step reset). */
export async function saveTriggerWebhook(
  db: Db,
  pipelineId: number,
  tokenHash: string,
  totpSecret: string | null,
): Promise<void> {
  await db
    .insertInto('pipeline_trigger_webhooks')
    .values({ pipeline_id: pipelineId, token_hash: tokenHash, totp_secret: totpSecret, create_date: now() })
    .onConflict((oc) =>
      oc
        .column('pipeline_id')
        .doUpdateSet({ token_hash: tokenHash, totp_secret: totpSecret, totp_last_step: 0 }),
    )
    .execute();
}

export async function setTotpSecret(db: Db, pipelineId: number, totpSecret: string | null): Promise<void> {
  await db
    .updateTable('pipeline_trigger_webhooks')
    .set({ totp_secret: totpSecret, totp_last_step: 0 })
    .where('pipeline_id', '=', pipelineId)
    .execute();
}

export async function deleteTriggerWebhook(db: Db, pipelineId: number): Promise<void> {
  await db.deleteFrom('pipeline_trigger_webhooks').where('pipeline_id', '=', pipelineId).execute();
}

/**
 * Uses TOTP time step `step` of the pipeline: true only if no later or equal step was used before, in
 * one conditional UPDATE, so a code is accepted once even with two servers on one database.
 */
export async function claimTotpStep(db: Db, pipelineId: number, step: number): Promise<boolean> {
  const result = await db
    .updateTable('pipeline_trigger_webhooks')
    .set({ totp_last_step: step })
    .where('pipeline_id', '=', pipelineId)
    .where('totp_last_step', '<', step)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
