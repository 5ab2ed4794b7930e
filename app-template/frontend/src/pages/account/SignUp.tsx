import { useState } from 'react'
import { Link, Navigate } from 'react-router'
import { signUp } from '../../api/auth.ts'
import { EMAIL, password } from '../../components/fields.ts'
import { Form } from '../../components/Form.tsx'
import { text, useSubmit } from '../../components/useSubmit.ts'
import { useSession } from '../../stores/session.ts'

export default function SignUp() {
  const user = useSession((state) => state.user)
  const signedIn = useSession((state) => state.signedIn)
  const [email, setEmail] = useState('')
  const form = useSubmit(async (data) => {
    setEmail(text(data, 'email'))
    const outcome = await signUp(text(data, 'email'), text(data, 'password'))
    if (outcome.kind === 'signed-in') signedIn(outcome.user)
    return outcome
  })

  if (user) return <Navigate to="/notes" replace />

  return (
    <>
      <h1>Sign up</h1>
      <div role="status">
        {form.outcome?.kind === 'verify-email' && (
          <>
            <h2>Check your e-mail</h2>
            <p>
              We sent a link to {email}. Open it to confirm the address, and your account is ready.
            </p>
          </>
        )}
      </div>
      {form.outcome?.kind !== 'verify-email' && (
        <>
          <Form
            form={form}
            fields={[EMAIL, password('Password', 'password', 'new-password')]}
            submit="Sign up"
          />
          <p>
            Already have an account? <Link to="/account/signin">Sign in</Link>
          </p>
        </>
      )}
    </>
  )
}
