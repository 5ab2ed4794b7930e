import { Navigate, useParams } from 'react-router'
import { resetPassword } from '../../api/auth.ts'
import { password } from '../../components/fields.ts'
import { Form } from '../../components/Form.tsx'
import { text, useSubmit } from '../../components/useSubmit.ts'
import { useSession } from '../../stores/session.ts'

export default function PasswordResetFromKey() {
  const { key = '' } = useParams()
  const signedIn = useSession((state) => state.signedIn)
  const form = useSubmit(async (data) => {
    const outcome = await resetPassword(key, text(data, 'password'))
    if (outcome.kind === 'signed-in') signedIn(outcome.user)
    return outcome
  })

  if (form.outcome?.kind === 'signed-in') return <Navigate to="/notes" replace />
  if (form.outcome?.kind === 'signed-out') {
    const state = { notice: 'Your new password is set: sign in with it.' }
    return <Navigate to="/account/signin" replace state={state} />
  }

  return (
    <>
      <h1>Set a new password</h1>
      <Form
        form={form}
        fields={[password('New password', 'password', 'new-password')]}
        submit="Set password"
      />
    </>
  )
}
