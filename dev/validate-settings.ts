/**
 * @module DEV: runs the relay's own `parseConfig` on settings given as a JSON object on stdin, and
 * prints what it finds (setting names, never values). Deno runs it, as it runs src/ (JSX pages);
 * dev/check-config.ts feeds it.
 */
import process from 'node:process'
import { parseConfig } from '../src/config.ts'
import { RelayError } from '../src/errors.ts'

let input = ''
for await (const chunk of process.stdin) input += String(chunk)
try {
  parseConfig(JSON.parse(input) as object)
  console.log("The settings pass the relay's own checks.")
} catch (error) {
  if (!(error instanceof RelayError)) throw error
  console.error(error.description)
  process.exitCode = 1
}
