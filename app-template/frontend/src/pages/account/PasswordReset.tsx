import { useState } from 'react'
import { requestPasswordReset } from '../../api/auth.ts'
import { Field, FormErrors } from '../../components/Form.tsx'
import { text, useSubmit } from '../../components/useSubmit.ts'

export default function PasswordReset() {
  const [email, setEmail] = useState('')
  const form = useSubmit((data) => {
    setEmail(text(data, 'email'))
    return requestPasswordReset(text(data, 'email'))
  })
  const sent = form.outcome !== null && form.outcome.kind !== 'error'

  return (
    <>
      <h1>Reset your password</h1>
      <div role="status">
        {sent && (
          <>
            <h2>Check your e-mail</h2>
            <p>If an account uses {email}, we sent it a link to set a new password.</p>
          </>
        )}
      </div>
      {!sent && (
        <form onSubmit={form.onSubmit}>
          <FormErrors errors={form.errors} fields={['email']} />
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            required
            errors={form.errors}
          />
          <button type="submit" disabled={form.busy}>
            Send reset link
          </button>
        </form>
      )}
    </>
  )
}
