import { lambdaEntry } from '../lambdaEntry';
import { getRuntime } from '../runtime';
import { postCommandHandler } from './commandHandlers';

/** `POST /commands/{command}` of the deployment's service. */
export const handler = lambdaEntry(postCommandHandler(getRuntime));
