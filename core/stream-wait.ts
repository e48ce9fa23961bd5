/**
 * Waiting out backpressure on a writable stream: until it drains, or until it is closed or destroyed (a
 * destroyed stream never emits 'drain' again, so waiting for it alone would never end). Pure Node streams.
 */
export function writable(stream: NodeJS.WritableStream): Promise<void> {
  if ((stream as { destroyed?: boolean }).destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
