/** Environment of both hosts. Values are never logged: the internal key is a secret. */

export type Env = Record<string, string | undefined>;

export interface ApiSettings {
  baseUrl: string;
  internalKey: string;
}

export class MissingSettingError extends Error {
  override name = "MissingSettingError";
}

export function requireEnv(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new MissingSettingError(`${name} is not set`);
  return value;
}

export function apiSettingsFromEnv(env: Env): ApiSettings {
  return {
    baseUrl: requireEnv(env, "DATA_ENGINE_API_URL"),
    internalKey: requireEnv(env, "DATA_ENGINE_INTERNAL_API_KEY"),
  };
}
