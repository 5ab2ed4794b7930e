import { render } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { createMemoryRouter, RouterProvider } from 'react-router'
import App from '../App.tsx'

let router: ReturnType<typeof createMemoryRouter>

/** The app at `path`; returns a user to type and click with. */
export function renderAt(path: string) {
  router = createMemoryRouter([{ path: '*', element: <App /> }], { initialEntries: [path] })
  render(<RouterProvider router={router} />)
  return userEvent.setup()
}

/** The path and query the app rendered last is at. */
export const location = () => router.state.location.pathname + router.state.location.search
