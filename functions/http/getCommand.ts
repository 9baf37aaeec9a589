import { lambdaEntry } from '../lambdaEntry';
import { getRuntime } from '../runtime';
import { getCommandHandler } from './commandHandlers';

/** `GET /commands/{command}` of the deployment's service. */
export const handler = lambdaEntry(getCommandHandler(getRuntime));
