import { Link, Outlet } from 'react-router'

export default function Layout() {
  return (
    <>
      <header>
        <Link to="/">Notes</Link>
      </header>
      <main>
        <Outlet />
      </main>
    </>
  )
}
