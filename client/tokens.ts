import type { IsoTime } from './types.js';

/**
 * The tokens of a signed-in customer, as the client keeps them. The access token's expiry is
 * turned into a time when it arrives, so that a stored session knows when to refresh.
 */
export interface StoredSession {
  sessionToken: string;
  expiresAt: IsoTime;
  accessToken: string;
  accessExpiresAt: IsoTime;
  refreshToken: string;
  refreshExpiresAt: IsoTime;
}

/**
 * Where the app keeps the tokens between launches: the Keychain or Keystore on a phone (Expo
 * SecureStore, react-native-keychain), an HttpOnly cookie's server or sessionStorage on the web.
 * The client saves after every login and refresh and clears after a revoke or a refused refresh.
 *
 * A refresh token works once: presenting a used one again revokes the whole session (API.md). So
 * one store must not be shared by two clients that refresh on their own (two browser tabs with one
 * localStorage, an app and its extension): the second refresh would sign both out.
 */
export interface TokenStore {
  load(): StoredSession | undefined | Promise<StoredSession | undefined>;
  save(session: StoredSession): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** Keeps the tokens in memory only: signed out when the app restarts. The default. */
export function memoryTokenStore(initial?: StoredSession): TokenStore {
  let current = initial;
  return {
    load: () => current,
    save: (session) => {
      current = session;
    },
    clear: () => {
      current = undefined;
    },
  };
}
