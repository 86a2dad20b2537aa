import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SCOPES } from '../../domain/scopes.ts';
import { hashPassword, verifyPassword } from '../../secrets/passwords.ts';
import { createToken, findUserByEmailAddress } from '../../store/identity.ts';
import { usePasswordLink } from '../../store/members.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest } from '../errors.ts';
import { presentToken } from '../present/identity.ts';
import { SignInLimiter } from '../sign-in-limiter.ts';
import { Email } from './members.ts';
import { PasswordSet, Token } from '../schemas/identity.ts';

const Password = Type.String({ minLength: 8, maxLength: 1024 });
const SetPasswordBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), password: Password },
  { additionalProperties: false },
);
const SignInBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

/** Lifetime of a token handed out by sign-in: one working day. */
const SESSION_HOURS = 12;

/**
 * How people get in without a token: `POST /auth/password` spends a one-time link (from an invitation
 * or `gantry user password-link`) to set a password; `POST /auth/sign-in` trades e-mail and password for
 * a token with every scope, valid 12 hours, that the web UI sends as a bearer token. Failed attempts are
 * limited per address (5 within 15 minutes) and per client (50), then 429 with Retry-After.
 */
export function signInRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { db, urls } = ctx;
  // Per address: 5 failures in 15 minutes. Per client: 50, so one office behind one address is not locked
  // out by a colleague's typos while a guesser cycling through addresses still is.
  const byEmail = new SignInLimiter(5);
  const byClient = new SignInLimiter(50);

  app.post<{ Body: Static<typeof SetPasswordBody> }>(
    '/auth/password',
    {
      config: { scope: null, access: 'public' },
      schema: { body: SetPasswordBody, response: { 200: PasswordSet } },
    },
    async (request) => {
      const user = await usePasswordLink(db, request.body.token, await hashPassword(request.body.password));
      if (!user)
        throw badRequest(
          'this password link is invalid, used or expired; ask an administrator for a new one',
        );
      return { email: user.email, name: user.name };
    },
  );

  app.post<{ Body: Static<typeof SignInBody> }>(
    '/auth/sign-in',
    { config: { scope: null, access: 'public' }, schema: { body: SignInBody, response: { 201: Token } } },
    async (request, reply) => {
      const email = request.body.email.trim().toLowerCase();
      const wait = Math.max(byEmail.retryAfter(email), byClient.retryAfter(request.ip));
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new ApiError(429, 'too many failed sign-ins; try again later');
      }
      const user = await findUserByEmailAddress(db, email);
      // verifyPassword derives a key even for an unknown address, so timing does not tell which it was.
      if (!(await verifyPassword(request.body.password, user?.password_hash ?? null)) || !user) {
        byEmail.fail(email);
        byClient.fail(request.ip);
        throw new ApiError(401, 'wrong e-mail address or password');
      }
      byEmail.succeed(email);
      const { row, token } = await createToken(db, {
        userId: user.id,
        name: 'web sign-in',
        // A browser session never acts as a worker (WORKER receives every workspace's secrets).
        scopes: SCOPES.filter((s) => s !== 'WORKER'),
        ipRestrictions: [],
        workspaceRestrictions: [],
        expiresAt: new Date(Date.now() + SESSION_HOURS * 3600_000).toISOString(),
      });
      return reply.status(201).send(presentToken(urls, row, null, token));
    },
  );
}
