import { account } from './account';

const PREFIX = account.streamId('');

/** The account id of an account stream (`account-<id>`), the key of the account read models. */
export function accountIdOf(streamId: string): string {
  if (!streamId.startsWith(PREFIX)) throw new Error(`${streamId} is not an account stream`);
  return streamId.slice(PREFIX.length);
}
