// Errors in plain words. The node throws `NodeError`s whose messages are written for people; anything else is
// a bug or a browser refusal, shown as one short sentence, never a stack trace (and never logged with data).
import { NodeError } from '../../core/node/api.ts';

const BROWSER_ERRORS: Record<string, string> = {
  NotAllowedError: 'Permission was refused. You can allow it in the browser’s site settings and try again.',
  NotFoundError: 'No suitable device was found.',
  NotReadableError: 'The device is in use by another app.',
  AbortError: 'That was cancelled.',
  SecurityError: 'The browser does not allow this here.',
  NetworkError: 'The connection was lost. Check the network and try again.',
  QuotaExceededError: 'This device is out of storage space.',
};

export function plainError(err: unknown): string {
  if (err instanceof NodeError) return err.message;
  if (err && typeof err === 'object' && 'name' in err && typeof err.name === 'string' && err.name in BROWSER_ERRORS) {
    return BROWSER_ERRORS[err.name]!;
  }
  if (err instanceof SyntaxError) return 'That file is not valid JSON.';
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  // One line, bounded: the first line of a message is its summary; anything after it is detail.
  const line = message.split('\n')[0]!.trim().slice(0, 200);
  return line ? `That did not work: ${line}` : 'That did not work. Please try again.';
}
