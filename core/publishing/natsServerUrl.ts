/**
 * Why a NATS server address cannot be connected to, or null when it can be
 * tried: `host`, `host:port`, or either after a scheme (`nats://`, `tls://`),
 * with credentials before an `@` if any. The client reads an address as this
 * does, and one it cannot read fails each connect as an unreachable server
 * would: the publisher retried it in every run, for ever, and each run ended
 * as if NATS were only away.
 */
export function whyNotANatsServer(address: string): string | null {
  const afterScheme = address.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  if (afterScheme.length === 0) return 'must name a server: host, host:port or nats://host:port';
  if (afterScheme.includes(',')) return 'must name one server, not a list';
  let url: URL;
  try {
    url = new URL(`http://${afterScheme}`);
  } catch {
    return `is no server address the NATS client can read: ${JSON.stringify(address)}`;
  }
  if (url.hostname.length === 0) return 'must name a host';
  const port = /:(\d+)$/.exec(url.host)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return `has a port out of range (1 to 65535): ${port}`;
  return null;
}
