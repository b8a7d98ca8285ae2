const tokens = new Map<string, Promise<string | undefined>>();

/**
 * Forgets the tokens of the server at `origin`, once it has stopped: the next server on the same
 * port has another secret and would refuse them.
 */
export function forgetSessionTokens(origin: string): void {
  for (const key of tokens.keys()) if (key.startsWith(`${origin} `)) tokens.delete(key);
}

/**
 * A session token for a display name (`POST /api/session` `{"name"}` → `token`), asked for once
 * per server and name. Undefined when the server has no sessions (the ceiling, older Parley):
 * clients then name themselves with `?name=` and an `author` field, which they always also send.
 */
export function sessionToken(origin: string, name: string): Promise<string | undefined> {
  const key = `${origin} ${name}`;
  let token = tokens.get(key);
  if (!token) {
    token = (async () => {
      const response = await fetch(`${origin}/api/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) throw new Error(`POST /api/session answered ${response.status}`);
      return ((await response.json()) as { token?: string }).token;
    })();
    tokens.set(key, token);
  }
  return token;
}
