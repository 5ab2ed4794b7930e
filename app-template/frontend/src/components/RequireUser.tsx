import { Navigate, Outlet, useLocation } from 'react-router'
import { useSession } from '../stores/session.ts'

/** The routes inside it, for a signed-in user; anyone else signs in first and comes back. */
export default function RequireUser() {
  const user = useSession((state) => state.user)
  const status = useSession((state) => state.status)
  const { pathname, search } = useLocation()

  if (status !== 'ready') return <p>Loading…</p>
  if (!user) {
    const next = encodeURIComponent(pathname + search).replaceAll('%2F', '/')
    return <Navigate to={`/account/signin?next=${next}`} replace />
  }
  return <Outlet />
}
