/**
 * @module
 * `unity-login --help` and each command's `--help`.
 */
import { EXIT_CODE_HELP } from './exit-codes.ts'

/** Help for each command, and `main` for the tool. */
export const HELP: Readonly<Record<'main' | 'login' | 'token' | 'status' | 'logout', string>> = {
  main: `unity-login: sign in to Intellective Unity through a unity-oauth-relay, then print fresh tokens for scripts.

Usage:
  unity-login login --relay URL [--scope S] [--device] [--no-browser] [--clipboard] [--insecure-storage] [--timeout S]
  unity-login token [--relay URL]
  unity-login status [--relay URL]
  unity-login logout [--relay URL] [--local]

  curl -H "Authorization: Bearer $(unity-login token)" https://unity.example.com/…

Run unity-login <command> --help for a command's options. Without --relay, token, status and logout
use $UNITY_LOGIN_RELAY, else the relay of the last login. Files live in $XDG_CONFIG_HOME/unity-login
(~/.config/unity-login; %APPDATA%\\unity-login on Windows).

${EXIT_CODE_HELP}`,
  login: `unity-login login --relay URL [options]

Signs in through the relay and stores the tokens in the OS keyring, keyed by the relay's address.
By default it uses the relay's sign-in for native apps (a redirect to this machine, RFC 8252) when
the relay offers it, and otherwise the relay's confirmation page, whose code you compare with the
one printed here. It makes an ES256 DPoP key and keeps it beside the tokens, so the relay binds the
refresh token to it.

Options:
  --relay URL          the relay (https://, or http:// on 127.0.0.1 or localhost)
  --scope S            the scope to ask for (default: the relay's)
  --device             the device flow (RFC 8628): a code to enter on any device; for SSH sessions
  --no-browser         only print the link (also when there is no display, or over SSH)
  --clipboard          copy the code to the clipboard
  --insecure-storage   keep the tokens in a 0600 file instead of the OS keyring (for machines
                       without one: CI, containers)
  --timeout SECONDS    give up after this long (default: 720 s, or the device code's lifetime)

${EXIT_CODE_HELP}`,
  token: `unity-login token [--relay URL]

Prints a valid access token and nothing else. When it ends within 5 minutes, the token is refreshed
at the relay first; parallel calls refresh once.

${EXIT_CODE_HELP}`,
  status: `unity-login status [--relay URL]

Shows the relay, when you signed in, when the access token and the refresh grant end, whether the
refresh token is bound to this machine's DPoP key, and where the tokens are stored. Never a token.

${EXIT_CODE_HELP}`,
  logout: `unity-login logout [--relay URL] [--local]

Revokes the refresh token at the relay (when it offers revocation), then forgets the tokens. The
access token stays valid at Unity until it expires.

Options:
  --local   forget the tokens without revoking them (e.g. when the relay is gone)

${EXIT_CODE_HELP}`,
}
