/**
 * @module
 * Every HTTP contract case, the one source both runtimes' suites run.
 */
import { authorizeCases } from './authorize.cases.ts'
import { callbackCases } from './callback.cases.ts'
import { confirmCases } from './confirm.cases.ts'
import type { ContractCase } from './define.ts'
import { headersCases } from './headers.cases.ts'
import { tokenCases } from './token.cases.ts'

export type { ContractCase } from './define.ts'
export type { StoreHarness, RawRecords } from './harness.ts'

/** All contract cases, grouped by endpoint. */
export const contractCases: readonly ContractCase[] = [...authorizeCases, ...confirmCases, ...callbackCases, ...tokenCases, ...headersCases]
