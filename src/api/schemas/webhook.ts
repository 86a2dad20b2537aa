import { Type } from '@sinclair/typebox';
import { Links } from './identity.ts';

/** Response schemas of workspace webhooks (buddy-api-clients.md §C.11). */

export const Webhook = Type.Object(
  {
    ...Links,
    id: Type.Integer(),
    target_url: Type.String(),
    secret_key: Type.String(),
    projects: Type.Array(Type.String()),
    events: Type.Array(Type.String()),
    requests: Type.Array(
      Type.Object({
        post_date: Type.String(),
        response_status: Type.String({ description: 'HTTP status of the last attempt; empty before one' }),
        body: Type.String(),
        event: Type.String(),
        attempts: Type.Integer(),
        status: Type.String(),
      }),
    ),
  },
  { title: 'Webhook' },
);
export const WebhookList = Type.Object({ ...Links, webhooks: Type.Array(Webhook) });
