import './client.ts' // the generated client's configuration: origin, cookie, CSRF header
import {
  authAccountPasswordChangePost,
  authEmailVerifyPost,
  authLoginPost,
  authPasswordRequestPost,
  authPasswordResetPost,
  authSessionDelete,
  authSignupPost,
} from './generated/sdk.gen.ts'
import type {
  AuthAuthenticatedResponse,
  AuthAuthenticationResponse,
  AuthErrorResponse,
  SessionUser,
} from './generated/types.gen.ts'

export type User = SessionUser

type AuthError = NonNullable<AuthErrorResponse['errors']>[number]
/** An error as django-allauth's headless API reports it (`param` names the input at fault),
 * or one of this app's own, which has no code. */
export type FormError = Omit<AuthError, 'code'> & Partial<Pick<AuthError, 'code'>>

/** What a call to the account API came to. */
export type Outcome =
  | { kind: 'signed-in'; user: User }
  | { kind: 'signed-out' } // done, and nobody is signed in: sign out, a confirmed e-mail, a new password
  | { kind: 'verify-email' } // the account waits for the link mailed to its address
  | { kind: 'done' }
  | { kind: 'error'; errors: FormError[] }

/** What allauth answers, whichever status (its schema's response types). */
type Reply = {
  data?: Partial<AuthAuthenticatedResponse['data'] & AuthAuthenticationResponse['data']>
  errors?: FormError[]
  detail?: string
}
type Result = { data?: unknown; error?: unknown; response?: Response }

const failed = (message: string): Outcome => ({ kind: 'error', errors: [{ message }] })

// allauth answers 200 with the user when someone is signed in, and 401 with the pending
// flows when nobody is: after sign-out, 401 is the success.
async function outcome(call: Promise<Result>): Promise<Outcome> {
  const { data, error, response } = await call
  if (!response) return failed('The site cannot be reached: check your connection and try again.')
  const reply = ((response.ok ? data : error) ?? {}) as Reply
  const user = reply.data?.user
  if (response.ok) {
    return user?.id !== undefined && user.email !== undefined
      ? { kind: 'signed-in', user: { id: user.id, email: user.email } }
      : { kind: 'done' }
  }
  if (response.status === 401) {
    const pending = reply.data?.flows?.some((flow) => flow.id === 'verify_email' && flow.is_pending)
    return pending ? { kind: 'verify-email' } : { kind: 'signed-out' }
  }
  if (reply.errors?.length) return { kind: 'error', errors: reply.errors }
  return failed(reply.detail ?? `Something went wrong (${response.status}): try again later.`)
}

export const signIn = (email: string, password: string) =>
  outcome(authLoginPost({ body: { email, password } }))
export const signUp = (email: string, password: string) =>
  outcome(authSignupPost({ body: { email, password } }))
export const signOut = () => outcome(authSessionDelete())
export const verifyEmail = (key: string) => outcome(authEmailVerifyPost({ body: { key } }))
export const requestPasswordReset = (email: string) =>
  outcome(authPasswordRequestPost({ body: { email } }))
export const resetPassword = (key: string, password: string) =>
  outcome(authPasswordResetPost({ body: { key, password } }))
export const changePassword = (current_password: string, new_password: string) =>
  outcome(authAccountPasswordChangePost({ body: { current_password, new_password } }))
