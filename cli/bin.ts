#!/usr/bin/env node
/** @module The `unity-login` executable: {@link run} with this process's arguments, streams, config directory and OS keyring. */
import { run } from './main.ts'
import { configDir } from './paths.ts'
import { osKeyring } from './storage.ts'

process.exitCode = await run(process.argv.slice(2), { dir: configDir(), env: process.env, keyring: osKeyring, stdout: process.stdout, stderr: process.stderr })
