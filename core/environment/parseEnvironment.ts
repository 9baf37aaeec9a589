import * as z from '../schema';

/** Reads settings from environment variables through `schema`, failing loudly with every bad value named. */
export function parseEnvironment<Schema extends z.core.$ZodType>(
  schema: Schema,
  env: Record<string, string | undefined>,
  what: string,
): z.infer<Schema> {
  const parsed = z.safeParse(schema, env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid ${what} configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}
