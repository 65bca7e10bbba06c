/**
 * @module
 * Every HTTP contract case, the one source both runtimes' suites run.
 */
import { authorizeCases } from './authorize.cases.ts'
import { callbackCases } from './callback.cases.ts'
import { clientCases } from './client.cases.ts'
import { canonicalHostCases } from './canonical-host.cases.ts'
import { confirmCases } from './confirm.cases.ts'
import { confirmedCases } from './confirmed.cases.ts'
import { deviceCases } from './device.cases.ts'
import { dpopCases } from './dpop.cases.ts'
import type { ContractCase } from './define.ts'
import { faultCases } from './faults.cases.ts'
import { intentCases } from './intent.cases.ts'
import { limitsCases } from './limits.cases.ts'
import { headersCases } from './headers.cases.ts'
import { heldCases } from './held.cases.ts'
import { honoCopiesCases } from './hono-copies.cases.ts'
import { refreshCases } from './refresh.cases.ts'
import { rotationCases } from './rotation.cases.ts'
import { storeCases } from './store.cases.ts'
import { landingCases } from './landing.cases.ts'
import { refusalCases } from './refusals.cases.ts'
import { standardCases } from './standard.cases.ts'
import { standardRequestCases } from './standard-requests.cases.ts'
import { springCases } from './spring.cases.ts'
import { tokenCases } from './token.cases.ts'

export type { ContractCase } from './define.ts'
export type { StoreHarness, RawRecords } from './harness.ts'

/** All HTTP contract cases, grouped by endpoint, and the store contract every store meets. */
export const contractCases: readonly ContractCase[] = [...authorizeCases, ...canonicalHostCases, ...confirmCases, ...confirmedCases, ...intentCases, ...callbackCases, ...standardRequestCases, ...standardCases, ...tokenCases, ...heldCases, ...refreshCases, ...dpopCases, ...rotationCases, ...deviceCases, ...landingCases, ...headersCases, ...honoCopiesCases, ...limitsCases, ...refusalCases, ...springCases, ...faultCases, ...storeCases, ...clientCases]
