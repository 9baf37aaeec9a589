import { PublisherConfigurationError } from './PublisherConfigurationError';

/** A NATS server's address, read as the client needs it. */
interface NatsAddress {
  kind: 'address';
  /** The address as written, without its credentials: how the client takes a server. */
  server: string;
  /** The server's host and port as written (no scheme, no credentials): to show. */
  hostAndPort: string;
  credentials: { user: string; pass: string } | { token: string } | null;
  /** Given as `tls://`: the connection must be TLS. */
  tls: boolean;
}

type ReadAddress = NatsAddress | { kind: 'refused'; problem: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
// The schemes the Node client connects with; it refuses ws:// and wss:// as a browser's.
const CLIENT_SCHEMES = new Set(['nats', 'tls']);
const ENCODE = 'percent-encoded (a / # or ? in them must be written %2F, %23, %3F)';

const refused = (problem: string): ReadAddress => ({ kind: 'refused', problem });

/**
 * Reads NATS_URL: `host`, `host:port`, or either after `nats://` or `tls://`,
 * with credentials before an `@` if any (`user:password@`, or a token alone),
 * percent-encoded as in any URL. No problem it names quotes the address, which
 * may hold a password.
 */
function readAddress(address: string): ReadAddress {
  const trimmed = address.trim();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && !CLIENT_SCHEMES.has(scheme)) return refused(`must be a nats:// or tls:// address, not ${scheme}://`);
  const afterScheme = trimmed.replace(SCHEME, '');
  if (afterScheme.length === 0) return refused('must name a server: host, host:port or nats://host:port');
  if (afterScheme.includes(',')) return refused('must name one server, not a list');
  const at = afterScheme.lastIndexOf('@');
  // As written, not as a URL reads it back: that drops port 80, http's default, where the client's is 4222.
  const hostAndPort = afterScheme.slice(at + 1).replace(/[/?#].*$/, '');
  const port = /:(\d+)$/.exec(hostAndPort)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return refused(`has a port out of range (1 to 65535): ${port}`);
  // The client reads an address as a URL of its own scheme: one no URL can be, it cannot connect to.
  const url = URL.canParse(`http://${afterScheme}`) ? new URL(`http://${afterScheme}`) : null;
  if (url === null) return refused(`is no server address the NATS client can read; credentials in it must be ${ENCODE}`);
  if (url.hostname.length === 0) return refused('must name a host');
  let credentials: NatsAddress['credentials'] = null;
  if (at >= 0) {
    // The client reads no credentials from a server's address (it would send none), and reads a
    // host without a dot after them as IPv6: they are taken out and given to it as options.
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch {
      return refused(`has credentials that are not ${ENCODE}`);
    }
    // An unencoded / # or ? ends the URL's credentials early: read as a host, they leave none.
    if (user.length === 0) return refused(`has credentials with no user or token before the @; they must be ${ENCODE}`);
    credentials = afterScheme.slice(0, at).includes(':') ? { user, pass } : { token: user };
  }
  return { kind: 'address', server: `${scheme === undefined ? '' : `${scheme}://`}${hostAndPort}`, hostAndPort, credentials, tls: scheme === 'tls' };
}

/** Why a NATS server address cannot be connected to, or null when it can be tried. */
export function whyNotANatsServer(address: string): string | null {
  const read = readAddress(address);
  return read.kind === 'refused' ? read.problem : null;
}

/**
 * The client's connect options for a NATS address: the server, the user and
 * password (or the token) its URL carries, and TLS required for a `tls://` one
 * (the client would otherwise take a server that offers none, and send those
 * credentials in the clear). An address it cannot read is refused with
 * PublisherConfigurationError: no retry could connect to it.
 */
export function natsConnectOptionsOf(address: string): { servers: string; user?: string; pass?: string; token?: string; tls?: Record<string, never> } {
  const read = readAddress(address);
  if (read.kind === 'refused') throw new PublisherConfigurationError(`NATS_URL ${read.problem}`);
  return { servers: read.server, ...(read.credentials ?? {}), ...(read.tls ? { tls: {} } : {}) };
}

/** The address to log or show: its host and port, without credentials; for one that cannot be read, that it cannot. */
export function natsAddressToShow(address: string): string {
  const read = readAddress(address);
  return read.kind === 'address' ? read.hostAndPort : 'an unreadable NATS_URL';
}
