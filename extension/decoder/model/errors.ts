// Errors of the model directory; the server maps ModelInvalidError to the
// protocol's 'model-invalid' code, with a message that names the broken file.

export class ModelInvalidError extends Error {
  /** `detail` is kept apart so the error can be rebuilt on the other side of a worker's message port. */
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ModelInvalidError';
  }
}
