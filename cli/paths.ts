/**
 * @module
 * Where unity-login keeps its files: `$XDG_CONFIG_HOME/unity-login` (default `~/.config`) on
 * Linux and macOS, `%APPDATA%\unity-login` on Windows, as gh does.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The config directory for this process's environment. */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.UNITY_LOGIN_CONFIG_DIR) return env.UNITY_LOGIN_CONFIG_DIR
  if (platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'unity-login')
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'unity-login')
}
