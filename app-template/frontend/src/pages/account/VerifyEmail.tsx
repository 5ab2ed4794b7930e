import { Navigate, useParams } from 'react-router'
import { verifyEmail } from '../../api/auth.ts'
import { FormErrors } from '../../components/Form.tsx'
import { useSubmit } from '../../components/useSubmit.ts'
import { useSession } from '../../stores/session.ts'

export default function VerifyEmail() {
  const { key = '' } = useParams()
  const signedIn = useSession((state) => state.signedIn)
  const form = useSubmit(async () => {
    const outcome = await verifyEmail(key)
    if (outcome.kind === 'signed-in') signedIn(outcome.user)
    return outcome
  })

  if (form.outcome?.kind === 'signed-in') return <Navigate to="/notes" replace />
  if (form.outcome?.kind === 'signed-out') {
    const state = { notice: 'Your e-mail address is confirmed: sign in.' }
    return <Navigate to="/account/signin" replace state={state} />
  }

  return (
    <>
      <h1>Confirm your e-mail</h1>
      <p>Confirm that this address is yours to finish setting up your account.</p>
      <form onSubmit={form.onSubmit}>
        <FormErrors errors={form.errors} />
        <button type="submit" disabled={form.busy}>
          Confirm e-mail
        </button>
      </form>
    </>
  )
}
