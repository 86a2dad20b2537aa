/** The signed-in token, kept in localStorage, and who wants to know when it changes. */
const KEY = 'gantry.token';
type Listener = (message: string) => void;
const listeners = new Set<Listener>();

function read(): string {
  try {
    return localStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

let current = read();

export const session = {
  token: (): string => current,
  signIn(token: string): void {
    current = token;
    try {
      localStorage.setItem(KEY, token);
    } catch {
      // storage unavailable: the token lives for this page only
    }
    for (const l of listeners) l('');
  },
  signOut(message = ''): void {
    current = '';
    try {
      localStorage.removeItem(KEY);
    } catch {
      // nothing stored
    }
    for (const l of listeners) l(message);
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};
