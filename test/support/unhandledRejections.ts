/**
 * What `work` returns, and the rejections nobody handled while it ran (and a
 * moment after, when Node reports them). Vitest's own listener is set aside
 * meanwhile: it would fail the file on the first one, where the spec says
 * which escaped.
 */
export async function withUnhandledRejections<T>(work: () => Promise<T>): Promise<{ result: T; escaped: unknown[] }> {
  const escaped: unknown[] = [];
  const record = (reason: unknown) => escaped.push(reason);
  const listeners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', record);
  try {
    const result = await work();
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { result, escaped };
  } finally {
    process.off('unhandledRejection', record);
    for (const listener of listeners) process.on('unhandledRejection', listener);
  }
}
