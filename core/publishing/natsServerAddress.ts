/**
 * A NATS server's address as NATS_URL gives it: `host`, `host:port`, or either
 * after `nats://` or `tls://`, with credentials before an `@` if any
 * (`user:password@`, or a token alone), percent-encoded as in any URL.
 */
interface ReadAddress {
  /** The address without its credentials, as the client takes a server. */
  server: string;
  credentials: { user: string; pass: string } | { token: string } | null;
  tls: boolean;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// The schemes the Node client connects with; it refuses ws:// and wss:// as a browser's.
const CLIENT_SCHEMES = new Set(['nats', 'tls']);

function readAddress(address: string): ReadAddress | string {
  const trimmed = address.trim();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && !CLIENT_SCHEMES.has(scheme)) return `must be a nats:// or tls:// address, not ${scheme}://`;
  const afterScheme = trimmed.replace(SCHEME, '');
  if (afterScheme.length === 0) return 'must name a server: host, host:port or nats://host:port';
  if (afterScheme.includes(',')) return 'must name one server, not a list';
  // The client reads an address as a URL of its own scheme: one no URL can be, it cannot connect to.
  const url = URL.canParse(`http://${afterScheme}`) ? new URL(`http://${afterScheme}`) : null;
  // Not the address itself, which may hold a password.
  if (url === null) return 'is no server address the NATS client can read (a password holding / # ? or @ must be percent-encoded)';
  if (url.hostname.length === 0) return 'must name a host';
  const at = afterScheme.lastIndexOf('@');
  // As given, not as the URL reads it back: that drops port 80, http's default, where the client's is 4222.
  const hostAndPort = afterScheme.slice(at + 1).replace(/[/?#].*$/, '');
  const port = /:(\d+)$/.exec(hostAndPort)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return `has a port out of range (1 to 65535): ${port}`;
  let credentials: ReadAddress['credentials'] = null;
  if (at >= 0) {
    // The client reads no credentials from a server's address (it would send none), and reads a
    // host without a dot after them as IPv6: they are taken out and given to it as options.
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch {
      return 'has credentials that are not percent-encoded text';
    }
    // An unencoded / ? or # in them ends the URL's credentials early: read as a host, they leave none.
    if (user.length === 0) return 'has credentials with no user or token before the @ (a / # ? or @ in them must be percent-encoded)';
    credentials = afterScheme.slice(0, at).includes(':') ? { user, pass } : { token: user };
  }
  return { server: `${scheme === undefined ? '' : `${scheme}://`}${hostAndPort}`, credentials, tls: scheme === 'tls' };
}

/** Why a NATS server address cannot be connected to, or null when it can be tried. */
export function whyNotANatsServer(address: string): string | null {
  const read = readAddress(address);
  return typeof read === 'string' ? read : null;
}

/**
 * The client's connect options for an address whyNotANatsServer took: the
 * server, the user and password (or the token) its URL carries, and TLS
 * required for a `tls://` one (the client would otherwise take a server that
 * offers none, and send those credentials in the clear).
 */
export function natsConnectOptionsOf(address: string): { servers: string; user?: string; pass?: string; token?: string; tls?: Record<string, never> } {
  const read = readAddress(address);
  if (typeof read === 'string') throw new TypeError(`NATS_URL ${read}`);
  return { servers: read.server, ...(read.credentials ?? {}), ...(read.tls ? { tls: {} } : {}) };
}

/** The address with any credentials in it masked, to log or show. */
export function natsAddressToShow(address: string): string {
  const trimmed = address.trim();
  const scheme = SCHEME.exec(trimmed)?.[0] ?? '';
  const afterScheme = trimmed.slice(scheme.length);
  const at = afterScheme.lastIndexOf('@');
  return at < 0 ? trimmed : `${scheme}***@${afterScheme.slice(at + 1)}`;
}
