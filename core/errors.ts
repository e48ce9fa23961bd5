/** Base of every error credreport raises on purpose; keeps the cause. */
export class CredreportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
