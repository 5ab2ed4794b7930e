import { send } from './client.ts'

export type User = { id: number; email: string }

/** An error as django-allauth's headless API reports it; `param` names the input at fault. */
export type FormError = { message: string; code?: string; param?: string }

/** What a call to the account API came to. */
export type Outcome =
  | { kind: 'signed-in'; user: User }
  | { kind: 'signed-out' } // done, and nobody is signed in: sign out, a confirmed e-mail, a new password
  | { kind: 'verify-email' } // the account waits for the link mailed to its address
  | { kind: 'done' }
  | { kind: 'error'; errors: FormError[] }

type Reply = {
  data?: { user?: User; flows?: { id: string; is_pending?: boolean }[] }
  errors?: FormError[]
  detail?: string
}

const BASE = '/api/auth/browser/v1'

const failed = (message: string): Outcome => ({ kind: 'error', errors: [{ message }] })

// allauth answers 200 with the user when someone is signed in, and 401 with the pending
// flows when nobody is: after sign-out, 401 is the success.
async function call(method: string, path: string, body?: object): Promise<Outcome> {
  let response: Response
  try {
    response = await send(BASE + path, { method, body: body && JSON.stringify(body) })
  } catch {
    return failed('The site cannot be reached: check your connection and try again.')
  }
  const reply = (await response.json().catch(() => ({}))) as Reply
  const user = reply.data?.user
  if (response.ok) {
    return user ? { kind: 'signed-in', user: { id: user.id, email: user.email } } : { kind: 'done' }
  }
  if (response.status === 401) {
    const pending = reply.data?.flows?.some((flow) => flow.id === 'verify_email' && flow.is_pending)
    return pending ? { kind: 'verify-email' } : { kind: 'signed-out' }
  }
  if (reply.errors?.length) return { kind: 'error', errors: reply.errors }
  return failed(reply.detail ?? `Something went wrong (${response.status}): try again later.`)
}

export const signIn = (email: string, password: string) =>
  call('POST', '/auth/login', { email, password })
export const signUp = (email: string, password: string) =>
  call('POST', '/auth/signup', { email, password })
export const signOut = () => call('DELETE', '/auth/session')
export const verifyEmail = (key: string) => call('POST', '/auth/email/verify', { key })
export const requestPasswordReset = (email: string) =>
  call('POST', '/auth/password/request', { email })
export const resetPassword = (key: string, password: string) =>
  call('POST', '/auth/password/reset', { key, password })
export const changePassword = (current_password: string, new_password: string) =>
  call('POST', '/account/password/change', { current_password, new_password })
