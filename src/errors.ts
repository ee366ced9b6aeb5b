/**
 * Typed errors with stable codes (grep-able; the README's error codes are this list, kept equal by
 * a test). `retriable` tells the one retry helper whether trying again can help.
 */
export const ErrorCodes = {
  CONFIG_INVALID: 'KG_ERR_CONFIG_INVALID',
  /** The config topic has not been read far enough to score an event with the right version. */
  CONFIG_STALE: 'KG_ERR_CONFIG_STALE',
  EVENT_NOT_JSON: 'KG_ERR_EVENT_NOT_JSON',
  EVENT_INVALID: 'KG_ERR_EVENT_INVALID',
  EVENT_TOO_LARGE: 'KG_ERR_EVENT_TOO_LARGE',
  EVENT_WRONG_TOPIC: 'KG_ERR_EVENT_WRONG_TOPIC',
  EVENT_TIME_AHEAD: 'KG_ERR_EVENT_TIME_AHEAD',
  OBSERVATION_INVALID: 'KG_ERR_OBSERVATION_INVALID',
  TOPIC_LAYOUT: 'KG_ERR_TOPIC_LAYOUT',
  DETECTOR_FAILED: 'KG_ERR_DETECTOR_FAILED',
  STORE_UNAVAILABLE: 'KG_ERR_STORE_UNAVAILABLE',
  USAGE: 'KG_ERR_USAGE',
  RECOMMENDATION_INVALID: 'KG_ERR_RECOMMENDATION_INVALID',
  WEBHOOK_GAVE_UP: 'KG_ERR_WEBHOOK_GAVE_UP',
  WEBHOOK_ENDPOINT_DISABLED: 'KG_ERR_WEBHOOK_ENDPOINT_DISABLED',
  RETRY_ABANDONED: 'KG_ERR_RETRY_ABANDONED',
  /** Test services: java, mvn or redis-server missing. */
  MISSING_TOOL: 'KG_ERR_MISSING_TOOL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class KeyguardError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'KeyguardError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export class ConfigError extends KeyguardError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG_INVALID, message);
    this.name = 'ConfigError';
  }
}

export class UsageError extends KeyguardError {
  constructor(message: string) {
    super(ErrorCodes.USAGE, message);
    this.name = 'UsageError';
  }
}

export class StoreError extends KeyguardError {
  constructor(message: string, cause?: unknown, retriable = true) {
    super(ErrorCodes.STORE_UNAVAILABLE, message, { cause, retriable });
    this.name = 'StoreError';
  }
}
