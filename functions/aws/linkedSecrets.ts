import { Resource } from 'sst/resource';

/** The secrets a function reads: linked in AWS, from the environment elsewhere. */
const SECRETS = ['DATABASE_URL', 'NATS_URL'] as const;

const linksActive = (env: Record<string, string | undefined>) => Boolean(env.SST_KEY_FILE ?? env.SST_RESOURCE_App);

/**
 * The linked secrets' values, read through SST's linked resources (encrypted
 * in the function's package, never plain environment variables). Outside SST
 * (npm run dev, tests) there are none, and settings come from the environment.
 */
export function linkedSecrets(env: Record<string, string | undefined> = process.env): Record<string, string> {
  if (!linksActive(env)) return {};
  const linked = Resource as unknown as Partial<Record<string, { value?: unknown }>>;
  const values: Record<string, string> = {};
  for (const name of SECRETS) {
    const value = name in linked ? linked[name]?.value : undefined;
    if (typeof value === 'string' && value !== '') values[name] = value;
  }
  return values;
}
