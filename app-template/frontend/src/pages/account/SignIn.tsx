import { Link, Navigate, useLocation, useSearchParams } from 'react-router'
import { signIn } from '../../api/auth.ts'
import { EMAIL, password } from '../../components/fields.ts'
import { Form } from '../../components/Form.tsx'
import { text, useSubmit } from '../../components/useSubmit.ts'
import { useSession } from '../../stores/session.ts'

/** `next` when it is a path of this site, else the notes. */
function nextPath(next: string | null): string {
  return next && next.startsWith('/') && !/^\/[/\\]/.test(next) ? next : '/notes'
}

export default function SignIn() {
  const user = useSession((state) => state.user)
  const signedIn = useSession((state) => state.signedIn)
  const [params] = useSearchParams()
  const notice = (useLocation().state as { notice?: string } | null)?.notice
  const form = useSubmit(async (data) => {
    const outcome = await signIn(text(data, 'email'), text(data, 'password'))
    if (outcome.kind === 'signed-in') signedIn(outcome.user)
    return outcome
  })

  if (user) return <Navigate to={nextPath(params.get('next'))} replace />

  const errors =
    form.outcome?.kind === 'verify-email'
      ? [{ message: 'Confirm your e-mail address first: open the link we sent to it.' }]
      : form.errors
  return (
    <>
      <h1>Sign in</h1>
      {notice && <p role="status">{notice}</p>}
      <Form
        form={form}
        errors={errors}
        fields={[EMAIL, password('Password', 'password', 'current-password')]}
        submit="Sign in"
      />
      <p>
        <Link to="/account/password/reset">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to="/account/signup">Create an account</Link>
      </p>
    </>
  )
}
