import { useState, type FormEvent } from 'react'
import type { Outcome } from '../api/auth.ts'

/** A form's submit handler for `action`, with the outcome, its errors and whether it runs. */
export function useSubmit(action: (data: FormData, form: HTMLFormElement) => Promise<Outcome>) {
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const [busy, setBusy] = useState(false)

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    setBusy(true)
    const form = event.currentTarget
    setOutcome(await action(new FormData(form), form))
    setBusy(false)
  }

  const errors = outcome?.kind === 'error' ? outcome.errors : []
  return { outcome, errors, busy, onSubmit }
}

export const text = (data: FormData, name: string) => String(data.get(name) ?? '')
