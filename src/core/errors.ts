/**
 * Typed errors shared by every stage. Each carries a stable `code` so the UI and the report can react to the
 * kind of failure (offer a lower preset on out-of-memory, a retry on a lost device) without parsing messages.
 */
export type ErrorCode =
  | 'gpu-unavailable'
  | 'gpu-out-of-memory'
  | 'gpu-device-lost'
  | 'gpu-validation'
  | 'cancelled'
  | 'input'
  | 'model'
  | 'export'
  | 'internal';

export class WebReconError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WebReconError';
  }
}

/** No WebGPU adapter, or the device could not be created. */
export class GpuUnavailableError extends WebReconError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('gpu-unavailable', message, options);
    this.name = 'GpuUnavailableError';
  }
}

/** An allocation did not fit: the budget, a limit, or the driver said no. Callers answer by lowering resolution. */
export class GpuOutOfMemoryError extends WebReconError {
  readonly requestedBytes: number;
  constructor(message: string, requestedBytes: number, options?: { cause?: unknown }) {
    super('gpu-out-of-memory', message, options);
    this.name = 'GpuOutOfMemoryError';
    this.requestedBytes = requestedBytes;
  }
}

export class GpuDeviceLostError extends WebReconError {
  readonly reason: string;
  constructor(message: string, reason: string) {
    super('gpu-device-lost', message);
    this.name = 'GpuDeviceLostError';
    this.reason = reason;
  }
}

export class CancelledError extends WebReconError {
  constructor(message = 'The job was cancelled.') {
    super('cancelled', message);
    this.name = 'CancelledError';
  }
}

/** Something the user gave us cannot be used; the message names the file and what is wrong with it. */
export class InputError extends WebReconError {
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super('input', message);
    this.name = 'InputError';
    this.file = file;
  }
}

/** Throws CancelledError when the signal has fired: call between batches in every long loop. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof WebReconError ? reason : new CancelledError();
  }
}

/** A plain, structured-clonable description of any thrown value. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

export function describeError(error: unknown): ErrorInfo {
  if (error instanceof WebReconError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'internal', message: `${error.name}: ${error.message}` };
  if (isErrorInfo(error)) return { code: error.code, message: error.message };
  return { code: 'internal', message: String(error) };
}

function isErrorInfo(value: unknown): value is ErrorInfo {
  return typeof value === 'object' && value !== null && typeof (value as ErrorInfo).message === 'string' && typeof (value as ErrorInfo).code === 'string';
}
