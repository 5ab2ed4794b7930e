import { useEffect } from 'react'
import { Link, Outlet, useNavigate } from 'react-router'
import { useSession } from '../stores/session.ts'

export default function Layout() {
  const user = useSession((state) => state.user)
  const status = useSession((state) => state.status)
  const signOut = useSession((state) => state.signOut)
  const navigate = useNavigate()

  useEffect(() => {
    if (useSession.getState().status === 'idle') useSession.getState().load()
  }, [])

  async function leave() {
    if ((await signOut()).kind === 'signed-out') navigate('/')
  }

  return (
    <>
      <header>
        <Link to="/">Notes</Link>
        {status === 'ready' && (
          <nav aria-label="Account">
            {user ? (
              <>
                <span>{user.email}</span>
                <button type="button" onClick={leave}>
                  Sign out
                </button>
              </>
            ) : (
              <>
                <Link to="/account/signin">Sign in</Link>
                <Link to="/account/signup">Sign up</Link>
              </>
            )}
          </nav>
        )}
      </header>
      <main>
        <Outlet />
      </main>
    </>
  )
}
