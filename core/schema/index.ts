import { config, locales, type core } from 'zod/mini';

/*
 * The framework validates with zod/mini: the same parser as classic zod, but
 * functions instead of methods, so a bundle keeps only what it uses. Classic
 * zod costs about 20 ms of every cold start to import, mini about 2.
 * Import it as a namespace (`import * as z from '../schema'`): re-exported as
 * one object, every bundle would keep all of it. zod/mini carries no messages
 * of its own; these are classic zod's English ones, set as classic zod sets
 * them: unless the service chose a locale first. package.json lists this
 * file under `sideEffects`: every binding it exports is zod's, so a bundler
 * would otherwise drop the module, and this call with it.
 */
if (!config().localeError) config(locales.en());

export * from 'zod/mini';

/** A schema a service supplies (a command's payload, say): classic zod or zod/mini alike. */
export type Schema<Output> = core.$ZodType<Output>;
