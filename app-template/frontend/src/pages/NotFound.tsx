import { Link, useLocation } from 'react-router'

export default function NotFound() {
  const { pathname } = useLocation()
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at <code>{pathname}</code>. <Link to="/">Back to the home page</Link>
      </p>
    </>
  )
}
