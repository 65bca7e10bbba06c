/**
 * @module
 * Opening the system browser (the `open` package) and copying the code to the clipboard, both
 * best effort: a failure only means the user opens the link or types the code by hand.
 */
import { spawn } from 'node:child_process'

/**
 * Whether a browser can be opened here: not over SSH, and on Linux and the BSDs only with an X11
 * or Wayland display (or `$BROWSER` naming one).
 */
export function canOpenBrowser(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  if (env.SSH_CONNECTION || env.SSH_TTY) return false
  if (platform === 'darwin' || platform === 'win32') return true
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY || env.BROWSER)
}

/** Opens `url` in the default browser without waiting for it; resolves `false` when the launcher could not start. */
export async function openBrowser(url: string): Promise<boolean> {
  try {
    const { default: open } = await import('open')
    const launcher = await open(url, { wait: false })
    // A launcher that fails later (no browser installed) only means the user opens the printed link.
    launcher.once('error', () => {})
    return true
  } catch {
    return false
  }
}

const CLIPBOARD_TOOLS: Readonly<Record<string, ReadonlyArray<readonly string[]>>> = {
  darwin: [['pbcopy']],
  win32: [['clip']],
  linux: [['wl-copy'], ['xclip', '-selection', 'clipboard'], ['xsel', '--clipboard', '--input']],
}

/** Copies `text` with the platform's clipboard tool; resolves `false` when there is none that works. */
export async function copyToClipboard(text: string, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  for (const [command, ...args] of CLIPBOARD_TOOLS[platform] ?? CLIPBOARD_TOOLS.linux ?? []) {
    if (!command) continue
    const ok = await new Promise<boolean>((resolve) => {
      const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'ignore'] })
      child.once('error', () => resolve(false))
      child.once('exit', (code) => resolve(code === 0))
      child.stdin.end(text)
    })
    if (ok) return true
  }
  return false
}
