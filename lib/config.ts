/** Server settings, read from environment variables. */
export interface Config {
  /** Where the KV store lives: a file path, `:memory:`, a KV Connect URL, or undefined on Deno Deploy. */
  kvPath: string | undefined;
  /** False when `PARLEY_LIMITS=off` turns rate limits and connection caps off. */
  limits: boolean;
}

/** The KV file used when `PARLEY_KV_PATH` is not set. */
export const DEFAULT_KV_PATH = "data/parley.kv";

/** Reads the configuration from the environment (or any getter shaped like `Deno.env.get`). */
export function readConfig(
  getEnv: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Config {
  const onDeploy = getEnv("DENO_DEPLOYMENT_ID") !== undefined;
  const kvPath = getEnv("PARLEY_KV_PATH") || (onDeploy ? undefined : DEFAULT_KV_PATH);
  const limits = getEnv("PARLEY_LIMITS") !== "off";
  return { kvPath, limits };
}
