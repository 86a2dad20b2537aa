/**
 * A start that cannot succeed because of the machine or the configuration (data directory, port,
 * Docker engine, git, database, secret key). The CLI prints its message as one line and exits 2; the
 * message says what is wrong and, where we know, how to fix it.
 */
export class StartupError extends Error {}
