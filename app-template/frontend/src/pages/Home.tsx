import { Link } from 'react-router'
import { useSession } from '../stores/session.ts'

export default function Home() {
  const user = useSession((state) => state.user)
  const status = useSession((state) => state.status)

  return (
    <>
      <h1>Notes</h1>
      <p>Write notes and read them again on any device. Yours are for your eyes only.</p>
      {status === 'ready' &&
        (user ? (
          <p>
            <Link to="/notes">Go to your notes</Link> or{' '}
            <Link to="/account/password/change">change your password</Link>.
          </p>
        ) : (
          <p>
            <Link to="/account/signin">Sign in</Link> or <Link to="/account/signup">Sign up</Link>{' '}
            to start.
          </p>
        ))}
    </>
  )
}
