import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import {
  addEmail,
  addPublicKey,
  deletePublicKey,
  emailTaken,
  getPublicKey,
  listExtraEmails,
  listPublicKeys,
  removeEmail,
  renameUser,
} from '../../store/profile.ts';
import { authenticate, principalOf, tokenFromRequest } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { numericId } from '../lookup.ts';
import { presentPublicKey, presentUser } from '../present/identity.ts';
import { AuthQuery, Name } from '../schemas/common.ts';
import { Email, EmailList, Profile, PublicKey, PublicKeyList } from '../schemas/identity.ts';

const Address = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });
const ProfileBody = Type.Union([
  Type.Object({ name: Type.Union([Name, Type.Null()]) }, { additionalProperties: false }),
  Type.Null(),
]);
const EmailBody = Type.Object({ email: Address }, { additionalProperties: false });
const KeyBody = Type.Object(
  {
    content: Type.String({ minLength: 1, maxLength: 16 * 1024 }),
    title: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: false },
);
const EmailParams = Type.Object({ email: Type.String({ maxLength: 254 }) });
const KeyParams = Type.Object({ id: Type.String({ maxLength: 32 }) });
const AvatarParams = Type.Object({ id: Type.String({ maxLength: 32 }) });
const AvatarQuery = Type.Object({ initial: Type.Optional(Type.String({ maxLength: 8 })) });

/** One OpenSSH public key line, checked far enough that a pasted private key or typo is refused. */
function parsePublicKey(text: string): { content: string; comment: string } {
  const match =
    /^(ssh-rsa|ssh-dss|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(
      text.trim(),
    );
  const blob = match ? Buffer.from(match[2]!, 'base64') : null;
  const embedded =
    blob && blob.length > 4 ? blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1') : '';
  if (!match || embedded !== match[1])
    throw badRequest('content must be one OpenSSH public key line, e.g. "ssh-ed25519 AAAA... me@laptop"');
  return { content: text.trim(), comment: match[3] ?? '' };
}

/** A round avatar with an initial; Gantry has no picture uploads, and Buddy always sends an avatar_url. */
function avatarSvg(initialText: string, seed: string): string {
  const initial = /^[\p{L}\p{N}]$/u.test(initialText) ? initialText : '?';
  const hue = Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 4), 16) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><circle cx="32" cy="32" r="32" fill="hsl(${hue},45%,45%)"/><text x="32" y="42" font-family="sans-serif" font-size="30" text-anchor="middle" fill="#fff">${initial}</text></svg>`;
}

/** The caller's profile: `/user`, its e-mail addresses and public SSH keys, and avatars. */
export function profileRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;

  app.get(
    '/user',
    { config: { scope: null }, schema: { querystring: AuthQuery, response: { 200: Profile } } },
    async (request) => {
      const principal = await authenticate(db, tokenFromRequest(request), request.ip);
      return presentUser(urls, principal.user);
    },
  );

  app.patch<{ Body: Static<typeof ProfileBody> }>(
    '/user',
    {
      config: { scope: 'USER_INFO', access: 'user' },
      schema: { body: ProfileBody, querystring: AuthQuery, response: { 200: Profile } },
    },
    async (request) => {
      const user = principalOf(request).user;
      const name = request.body?.name;
      return presentUser(
        urls,
        name === undefined || name === null ? user : await renameUser(db, user.id, name),
      );
    },
  );

  app.get(
    '/user/emails',
    {
      config: { scope: 'USER_EMAIL', access: 'user' },
      schema: { querystring: AuthQuery, response: { 200: EmailList } },
    },
    async (request) => {
      const user = principalOf(request).user;
      const extra = await listExtraEmails(db, user.id);
      return {
        emails: [
          { email: user.email, confirmed: true },
          ...extra.map((e) => ({ email: e.email, confirmed: e.confirmed === 1 })),
        ],
      };
    },
  );

  app.post<{ Body: Static<typeof EmailBody> }>(
    '/user/emails',
    {
      config: { scope: 'USER_EMAIL', access: 'user' },
      schema: { body: EmailBody, querystring: AuthQuery, response: { 201: Email } },
    },
    async (request, reply) => {
      const user = principalOf(request).user;
      const email = request.body.email.trim();
      if (await emailTaken(db, email)) throw conflict(`e-mail address "${email}" is already in use`);
      // Gantry sends no mail, so an added address stays unconfirmed (as Buddy shows it before the link is clicked).
      const row = await addEmail(db, user.id, email);
      return reply.status(201).send({ email: row.email, confirmed: row.confirmed === 1 });
    },
  );

  app.delete<{ Params: Static<typeof EmailParams> }>(
    '/user/emails/:email',
    {
      config: { scope: 'USER_EMAIL', access: 'user' },
      schema: { params: EmailParams, querystring: AuthQuery },
    },
    async (request, reply) => {
      const user = principalOf(request).user;
      if (request.params.email === user.email)
        throw badRequest('the primary e-mail address cannot be removed');
      if (!(await removeEmail(db, user.id, request.params.email)))
        throw notFound(`e-mail address "${request.params.email}" not found`);
      return reply.status(204).send();
    },
  );

  app.get(
    '/user/keys',
    {
      config: { scope: 'USER_KEY', access: 'user' },
      schema: { querystring: AuthQuery, response: { 200: PublicKeyList } },
    },
    async (request) => {
      const rows = await listPublicKeys(db, principalOf(request).user.id);
      return { ...urls.pair('/user/keys'), keys: rows.map((k) => presentPublicKey(urls, k)) };
    },
  );

  app.post<{ Body: Static<typeof KeyBody> }>(
    '/user/keys',
    {
      config: { scope: 'USER_KEY', access: 'user' },
      schema: { body: KeyBody, querystring: AuthQuery, response: { 201: PublicKey } },
    },
    async (request, reply) => {
      const user = principalOf(request).user;
      const { content, comment } = parsePublicKey(request.body.content);
      const title = request.body.title || comment || `key ${(await listPublicKeys(db, user.id)).length + 1}`;
      return reply
        .status(201)
        .send(presentPublicKey(urls, await addPublicKey(db, user.id, { title, content })));
    },
  );

  app.get<{ Params: Static<typeof KeyParams> }>(
    '/user/keys/:id',
    {
      config: { scope: 'USER_KEY', access: 'user' },
      schema: { params: KeyParams, querystring: AuthQuery, response: { 200: PublicKey } },
    },
    async (request) => {
      const key = await getPublicKey(db, principalOf(request).user.id, numericId(request.params.id, 'key'));
      if (!key) throw notFound(`key ${request.params.id} not found`);
      return presentPublicKey(urls, key);
    },
  );

  app.delete<{ Params: Static<typeof KeyParams> }>(
    '/user/keys/:id',
    { config: { scope: 'USER_KEY', access: 'user' }, schema: { params: KeyParams, querystring: AuthQuery } },
    async (request, reply) => {
      const id = numericId(request.params.id, 'key');
      if (!(await deletePublicKey(db, principalOf(request).user.id, id)))
        throw notFound(`key ${request.params.id} not found`);
      return reply.status(204).send();
    },
  );

  // Public like Buddy's avatar images; drawn from the URL alone, so it tells nobody anything.
  app.get<{ Params: Static<typeof AvatarParams>; Querystring: Static<typeof AvatarQuery> }>(
    '/avatars/:id',
    { config: { scope: null }, schema: { params: AvatarParams, querystring: AvatarQuery, hide: true } },
    async (request, reply) =>
      reply
        .type('image/svg+xml')
        .header('cache-control', 'max-age=86400')
        .send(avatarSvg(request.query.initial ?? '?', request.params.id)),
  );
}
