/**
 * @module
 * Hello-world Hono server on Deno: the baseline for cold start on Deno.
 */
import { Hono } from 'hono'

const app = new Hono()
app.get('/', (c) => c.text('Hello Hono!'))

Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8000), hostname: '127.0.0.1', onListen: () => {} }, app.fetch)
