import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type pretty from 'pino-pretty';

// pino-pretty (and its thirty modules) loads only for readable output: JSON needs none of it.
const require = createRequire(import.meta.url);

/**
 * The server's logger: pino JSON lines for log collectors, or pino-pretty's readable lines for a
 * person at a terminal. `format` "auto" picks readable only when stdout is a terminal, so a service
 * manager or container runtime capturing stdout always gets JSON.
 */
export function createLogger(options: {
  level: string;
  /** auto, json or pretty. */
  format: string;
  stdoutIsTty: boolean;
}): Logger {
  const readable = options.format === 'pretty' || (options.format === 'auto' && options.stdoutIsTty);
  if (!readable) return pino({ level: options.level });
  const prettyStream = require('pino-pretty') as typeof pretty;
  return pino(
    { level: options.level },
    prettyStream({
      colorize: options.stdoutIsTty,
      translateTime: 'SYS:standard',
      ignore: 'pid,hostname',
      sync: true,
    }),
  );
}
