import type { Db } from '../store/database.ts';
import { findTokenByValue, getUser, tokenWorkspaceDomains } from '../store/identity.ts';
import type { TokenRow, UserRow } from '../store/schema.ts';
import { parseJson } from '../store/time.ts';

/** What a token value resolves to in the database; the per-request checks (expiry, IP) run on it every time. */
export interface TokenIdentity {
  token: TokenRow;
  user: UserRow;
  scopes: ReadonlySet<string>;
  ipRestrictions: readonly string[];
  workspaceRestrictions: readonly string[] | null;
}

interface Entry {
  identity: TokenIdentity;
  generation: number;
  loadedAt: number;
}

/**
 * Token value → token, user and restricting workspaces, so an API request does not hash the token and
 * run three queries before its own work (they were a third of a simple GET). An entry is dropped when
 * any write to tokens, users or workspaces went through this process (`writes.generation` moved: a
 * revoked token, a changed user, a renamed workspace all take effect on the next request) and after
 * `maxAgeMs` in any case, which bounds how long a change made by another process (`gantry token`, a
 * second server on the same database) can go unseen. Unknown tokens are never cached.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly writes: { readonly generation: number },
    private readonly maxAgeMs = 1000,
    private readonly maxEntries = 1000,
  ) {}

  async resolve(db: Db, value: string): Promise<TokenIdentity | undefined> {
    const now = Date.now();
    const hit = this.entries.get(value);
    if (hit && hit.generation === this.writes.generation && now - hit.loadedAt < this.maxAgeMs)
      return hit.identity;
    if (hit) this.entries.delete(value);
    const generation = this.writes.generation;
    const identity = await loadIdentity(db, value);
    if (!identity) return undefined;
    // Filled only if nothing was written meanwhile: the rows read may predate that write.
    if (generation === this.writes.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(value, { identity, generation, loadedAt: now });
    }
    return identity;
  }
}

/** The uncached lookup (also what a missing cache does). */
export async function loadIdentity(db: Db, value: string): Promise<TokenIdentity | undefined> {
  return identityOfRow(db, await findTokenByValue(db, value));
}

export async function identityOfRow(db: Db, token: TokenRow | undefined): Promise<TokenIdentity | undefined> {
  if (!token) return undefined;
  const user = await getUser(db, token.user_id);
  if (!user) return undefined;
  return {
    token,
    user,
    scopes: new Set(parseJson<string[]>(token.scopes)),
    ipRestrictions: parseJson<string[]>(token.ip_restrictions),
    workspaceRestrictions: await tokenWorkspaceDomains(db, token),
  };
}
