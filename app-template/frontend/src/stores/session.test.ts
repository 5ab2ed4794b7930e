import { describe, expect, it } from 'vitest'
import { mockFetchEachTest, note, sent, user } from '../test/fetchMock.ts'
import { useNotes } from './notes.ts'
import { useSession } from './session.ts'

describe('session store', () => {
  const fetchMock = mockFetchEachTest()

  it('starts idle, then knows who is signed in from GET /api/session/', async () => {
    expect(useSession.getState()).toMatchObject({ user: null, status: 'idle' })
    fetchMock.mockResolvedValueOnce(Response.json({ user }))

    const loading = useSession.getState().load()
    expect(useSession.getState().status).toBe('loading')
    await loading

    expect(await sent(fetchMock)).toMatchObject({ url: '/api/session/', credentials: 'same-origin' })
    expect(useSession.getState()).toMatchObject({ user, status: 'ready' })
  })

  it('knows that nobody is signed in', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user: null }))

    await useSession.getState().load()

    expect(useSession.getState()).toMatchObject({ user: null, status: 'ready' })
  })

  it.each([
    ['the endpoint is missing', () => Promise.resolve(new Response('Not found', { status: 404 }))],
    ['the network fails', () => Promise.reject(new TypeError('Failed to fetch'))],
  ])('takes nobody to be signed in when %s', async (_, answer) => {
    fetchMock.mockImplementationOnce(answer)

    await useSession.getState().load()

    expect(useSession.getState()).toMatchObject({ user: null, status: 'ready' })
  })

  it('signs out with DELETE on the session, which answers 401, and forgets the notes', async () => {
    useSession.setState({ user, status: 'ready' })
    useNotes.setState({ notes: [note], status: 'ready' })
    document.cookie = 'csrftoken=abc123'
    fetchMock.mockResolvedValueOnce(
      Response.json({ status: 401, data: { flows: [{ id: 'login' }] }, meta: {} }, { status: 401 }),
    )

    const outcome = await useSession.getState().signOut()

    expect(outcome).toEqual({ kind: 'signed-out' })
    expect(await sent(fetchMock)).toMatchObject({
      url: '/api/auth/browser/v1/auth/session',
      method: 'DELETE',
      csrf: 'abc123',
    })
    expect(useSession.getState().user).toBeNull()
    expect(useNotes.getState().notes).toEqual([])
  })

  it('stays signed in when signing out fails', async () => {
    useSession.setState({ user, status: 'ready' })
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))

    const outcome = await useSession.getState().signOut()

    expect(outcome.kind).toBe('error')
    expect(useSession.getState().user).toEqual(user)
  })
})
