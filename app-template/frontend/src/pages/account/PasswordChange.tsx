import { changePassword } from '../../api/auth.ts'
import { password } from '../../components/fields.ts'
import { Form } from '../../components/Form.tsx'
import { text, useSubmit } from '../../components/useSubmit.ts'
import { useSession } from '../../stores/session.ts'

export default function PasswordChange() {
  const email = useSession((state) => state.user?.email ?? '')
  const load = useSession((state) => state.load)
  const form = useSubmit(async (data, element) => {
    const outcome = await changePassword(text(data, 'current_password'), text(data, 'new_password'))
    if (outcome.kind === 'signed-in' || outcome.kind === 'done') element.reset()
    if (outcome.kind === 'signed-out') await load() // the server ended the session
    return outcome
  })
  const changed = form.outcome?.kind === 'signed-in' || form.outcome?.kind === 'done'

  return (
    <>
      <h1>Change your password</h1>
      <p role="status">{changed && 'Your password is changed.'}</p>
      <Form
        form={form}
        fields={[
          password('Current password', 'current_password', 'current-password'),
          password('New password', 'new_password', 'new-password'),
        ]}
        submit="Change password"
      >
        {/* Whose password this is, for password managers. */}
        <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
      </Form>
    </>
  )
}
