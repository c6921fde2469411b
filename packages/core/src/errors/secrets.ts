import { defineErrors } from './spec.js';

/**
 * Errors of secrets at rest (docs/security.md, "Secrets at rest"): the server's key file and the
 * values sealed with it. All of them stop the server or the operation: none is retryable as is.
 */
export const secretsErrors = defineErrors('secrets', {
  SECRETS_KEY_FILE_REFUSED: {
    status: 500,
    retryable: false,
    message: 'The secrets key file {path} is refused: {reason}',
    recovery:
      'Make it a regular file of mode 0600 (chmod 600), readable by the server, holding one key: 43 base64url characters (32 random bytes). The server creates one itself when the file is absent.',
  },
  SECRETS_KEY_UNKNOWN: {
    status: 500,
    retryable: false,
    message: 'A stored secret ({where}) is sealed with key {keyId}, which is not in {path}',
    recovery:
      'Every server on one database must hold the same key file: copy it from another server or restore it from backup (or point --secrets-key-file at the shared file), then start again.',
  },
  SECRETS_OPEN_FAILED: {
    status: 500,
    retryable: false,
    message: 'A stored secret ({where}) could not be opened: {reason}',
    recovery:
      'The sealed value was altered or moved in the database. Set the secret again: recreate the pool, or issue a new API key and revoke this one.',
  },
});
