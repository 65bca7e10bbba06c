/**
 * @module
 * Hello-world Hono worker: the baseline for bundle size and cold start on workerd.
 */
import { Hono } from 'hono'

const app = new Hono()
app.get('/', (c) => c.text('Hello Hono!'))

export default app
