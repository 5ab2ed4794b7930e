import { afterEach, beforeEach, vi } from 'vitest'
import type { User } from '../api/auth.ts'
import { useNotes, type Note } from '../stores/notes.ts'
import { useSession } from '../stores/session.ts'

export const note: Note = {
  id: 1,
  title: 'First note',
  body: 'Hello',
  created_at: '2025-01-01T12:00:00Z',
}
export const user: User = { id: 7, email: 'ada@example.com' }

/** A page of `results` as the API answers it, with links when there are more. */
export function page<T>(
  results: T[],
  { count = results.length, next = false, previous = false } = {},
) {
  return {
    count,
    next: next ? '/api/notes/?page=next' : null,
    previous: previous ? '/api/notes/?page=previous' : null,
    results,
  }
}

/** The session as `GET /api/session/` left it, without asking. */
export function signedInAs(who: User | null) {
  useSession.setState({ user: who, status: 'ready' })
}

/** For each test of the calling file: fresh stores (nobody signed in) and a mocked fetch. */
export function mockFetchEachTest() {
  const fetchMock = vi.fn<typeof fetch>()

  beforeEach(() => {
    useNotes.setState(useNotes.getInitialState())
    useSession.setState(useSession.getInitialState())
    vi.stubGlobal('fetch', fetchMock)
  })

  afterEach(() => {
    fetchMock.mockReset()
    vi.unstubAllGlobals()
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
  })

  return fetchMock
}

/** The fetch call at `index` as the server would get it: the path (with the query), method,
 * credentials, JSON body (undefined when none) and CSRF header. */
export async function sent(fetchMock: ReturnType<typeof mockFetchEachTest>, index = 0) {
  const [input, init] = fetchMock.mock.calls[index]
  const request = new Request(input, init)
  const url = new URL(request.url)
  const text = await request.text()
  return {
    url: url.pathname + url.search,
    method: request.method,
    credentials: request.credentials,
    body: text ? JSON.parse(text) : undefined,
    csrf: request.headers.get('X-CSRFToken'),
    contentType: request.headers.get('Content-Type'),
  }
}
