import { useState } from 'react'
import { requestPasswordReset } from '../../api/auth.ts'
import { EMAIL } from '../../components/fields.ts'
import { Form } from '../../components/Form.tsx'
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
        <Form form={form} fields={[EMAIL]} submit="Send reset link" />
      )}
    </>
  )
}
