// Errors of the model directory; the server maps ModelInvalidError to the
// protocol's 'model-invalid' code, with a message that names the broken file.

export class ModelInvalidError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ModelInvalidError';
  }
}
