import type { Kysely } from 'kysely';

/**
 * Approval gates (WAIT_FOR_APPLY): who approved an action execution and when (Buddy's approver_id and
 * approval_date; both stay null on every other action execution), and on the execution whether the
 * next claim goes on after an approval (resume_pending 0/1).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('action_executions').addColumn('approver_id', 'integer').execute();
  await db.schema.alterTable('action_executions').addColumn('approval_date', 'text').execute();
  await db.schema
    .alterTable('executions')
    .addColumn('resume_pending', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
