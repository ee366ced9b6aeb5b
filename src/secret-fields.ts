/**
 * The one list of field names that may hold a secret. The logger redacts them (pino paths, at the
 * top level and two levels down); dead letters blank any JSON member whose name contains one of
 * them (case-insensitive: `apiSecret`, `X-Passphrase`, `private_key`).
 */
export const SECRET_FIELDS = [
  'secret',
  'apiSecret',
  'passphrase',
  'password',
  'signature',
  'authorization',
  'token',
  'privateKey',
  'private_key',
] as const;

/** Matches a member name that contains a secret field name. */
export const SECRET_NAME = new RegExp(SECRET_FIELDS.map((f) => f.replace(/[_-]/g, '.?')).join('|'), 'i');
