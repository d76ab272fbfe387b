/**
 * The one error family of EditMGT for the web. Every failure that a caller can act on is an
 * {@linkcode EditMGTError} with a stable string `code` and the HTTP status that the server answers
 * with, so the SDK, the engine and the server speak the same language.
 *
 * @example
 * ```ts
 * import { EditMGTError, isEditMGTError } from "@editmgt/editmgt";
 *
 * try {
 *   throw new EditMGTError("invalid_option", "steps must be an integer in [1, 1000], got 0");
 * } catch (error) {
 *   if (isEditMGTError(error)) console.log(error.code, error.status); // invalid_option 400
 * }
 * ```
 *
 * @module
 */

/** HTTP status for each error code. The keys are the stable codes; they never change meaning. */
export const ERROR_STATUS = {
  /** An option is out of range, of the wrong type or inconsistent with another. */
  invalid_option: 400,
  /** The input (image, mask, instruction, token array) is malformed or of the wrong size. */
  invalid_input: 400,
  /** A model manifest does not follow the manifest schema. */
  invalid_manifest: 422,
  /** The caller needs credentials or gave wrong ones. */
  unauthorized: 401,
  /** The requested model id is not known. */
  model_not_found: 404,
  /** The requested resource (job, file) does not exist. */
  not_found: 404,
  /** The route exists, but not for this HTTP method (the `Allow` header lists those it takes). */
  method_not_allowed: 405,
  /** The request body came too slowly, or stopped coming. */
  request_timeout: 408,
  /** The request body or image is larger than allowed. */
  payload_too_large: 413,
  /** The image, mask or model file is in a format that is not supported. */
  unsupported_format: 415,
  /** Too many requests from this client; retry later. */
  rate_limited: 429,
  /** The job queue is full; retry later. */
  queue_full: 429,
  /** The caller cancelled the work (AbortSignal or cancel request). */
  aborted: 499,
  /** Something failed that is not the caller's fault. */
  internal: 500,
  /** The model produced output that breaks the step-graph contract (sizes, token range). */
  model_output: 500,
  /** A downloaded or stored file does not match its sha256 in the manifest. */
  hash_mismatch: 502,
  /** A model file could not be downloaded. */
  download_failed: 502,
  /** No backend (WebGPU, WASM, native) can run the model here. */
  backend_unavailable: 503,
  /**
   * The engine's worker could not start or died: its script was refused (cross-origin), not
   * served as JavaScript, or crashed while loading.
   */
  worker_failed: 503,
  /** The server is at its limit of uploads or image work in flight; retry after `Retry-After`. */
  busy: 503,
  /** The work took longer than its time limit. */
  timeout: 504,
} as const satisfies Record<string, number>;

/** A stable error code; see {@linkcode ERROR_STATUS} for the meaning of each. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The JSON body that the server sends for an error and the remote client reads back. */
export interface ErrorBody {
  /** The error itself. */
  error: {
    /** Stable error code. */
    code: ErrorCode;
    /** What was wrong and what to do, for humans. */
    message: string;
    /** Optional machine-readable details (for example the offending option's name). */
    details?: Record<string, unknown>;
  };
}

/** Options for {@linkcode EditMGTError}. */
export interface EditMGTErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Machine-readable details, copied into {@linkcode ErrorBody}. */
  details?: Record<string, unknown>;
}

/**
 * An error with a stable `code` and an HTTP `status`.
 *
 * @example
 * ```ts
 * import { EditMGTError } from "@editmgt/editmgt";
 *
 * const error = new EditMGTError("hash_mismatch", "transformer.onnx: sha256 differs from the manifest");
 * console.log(error.status); // 502
 * console.log(JSON.stringify(error.toJSON()));
 * ```
 */
export class EditMGTError extends Error {
  /** Stable error code. */
  readonly code: ErrorCode;
  /** HTTP status that belongs to {@linkcode EditMGTError.code}. */
  readonly status: number;
  /** Optional machine-readable details. */
  readonly details?: Record<string, unknown>;

  /** Creates an error with `code` and a message that says what was wrong and what to do. */
  constructor(code: ErrorCode, message: string, options: EditMGTErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "EditMGTError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    if (options.details !== undefined) this.details = options.details;
  }

  /** The JSON body for this error, as sent by the server. */
  toJSON(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }

  /**
   * Rebuilds an error from a JSON body (the remote client uses this). Bodies that do not carry a
   * known code become `internal` errors that keep the original text in the message.
   */
  static fromJSON(body: unknown): EditMGTError {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })
      ?.error;
    if (typeof error?.code === "string" && isErrorCode(error.code)) {
      const message = typeof error.message === "string" ? error.message : error.code;
      const details = typeof error.details === "object" && error.details !== null
        ? error.details as Record<string, unknown>
        : undefined;
      return new EditMGTError(error.code, message, details ? { details } : {});
    }
    return new EditMGTError("internal", `unexpected error body: ${JSON.stringify(body)}`);
  }
}

/** Whether `code` is one of the stable error codes. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}

/** Whether `value` is an {@linkcode EditMGTError} (optionally with the given code). */
export function isEditMGTError(value: unknown, code?: ErrorCode): value is EditMGTError {
  return value instanceof EditMGTError && (code === undefined || value.code === code);
}
