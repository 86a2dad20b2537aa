import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

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
  return pino(
    { level: options.level },
    pretty({
      colorize: options.stdoutIsTty,
      translateTime: 'SYS:standard',
      ignore: 'pid,hostname',
      sync: true,
    }),
  );
}
