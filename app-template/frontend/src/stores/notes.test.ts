import { describe, expect, it, vi } from 'vitest'
import { note, mockFetchEachTest, page, sent } from '../test/fetchMock.ts'
import { useNotes } from './notes.ts'

function reply(status: number, data: unknown) {
  return Response.json(data, { status })
}

describe('notes store', () => {
  const fetchMock = mockFetchEachTest()

  it('loads the first page', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, page([note], { count: 30, next: true })))

    await useNotes.getState().load()

    expect((await sent(fetchMock)).url).toBe('/api/notes/')
    expect(useNotes.getState()).toMatchObject({
      notes: [note],
      page: 1,
      count: 30,
      hasNext: true,
      hasPrevious: false,
      status: 'ready',
      error: null,
    })
  })

  it('loads another page', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, page([note], { count: 30, previous: true })))

    await useNotes.getState().load(3)

    expect((await sent(fetchMock)).url).toBe('/api/notes/?page=3')
    expect(useNotes.getState()).toMatchObject({ page: 3, hasNext: false, hasPrevious: true })
  })

  it('keeps the error when loading fails', async () => {
    fetchMock.mockResolvedValueOnce(reply(503, { detail: 'Service unavailable' }))

    await useNotes.getState().load()

    expect(useNotes.getState()).toMatchObject({ status: 'error', error: 'Service unavailable' })
  })

  it('adds a note with a POST and the CSRF header, and puts it first', async () => {
    useNotes.setState({ notes: [note], count: 1, status: 'ready' })
    const created = { ...note, id: 2, title: 'Second' }
    fetchMock.mockResolvedValueOnce(reply(201, created))
    document.cookie = 'csrftoken=abc123'

    const ok = await useNotes.getState().add({ title: 'Second', body: 'Hello' })

    expect(ok).toBe(true)
    expect(await sent(fetchMock)).toEqual({
      url: '/api/notes/',
      method: 'POST',
      credentials: 'same-origin',
      body: { title: 'Second', body: 'Hello' },
      csrf: 'abc123',
      contentType: 'application/json',
    })
    expect(useNotes.getState().notes.map((n) => n.id)).toEqual([2, 1])
    expect(useNotes.getState().count).toBe(2)
  })

  it('keeps a note added while the list loads: the list is asked for again', async () => {
    const created = { ...note, id: 2, title: 'Added meanwhile' }
    let answerFirstLoad: (response: Response) => void = () => {}
    fetchMock
      .mockReturnValueOnce(new Promise((resolve) => (answerFirstLoad = resolve)))
      .mockResolvedValueOnce(reply(201, created))
      .mockResolvedValueOnce(reply(200, page([created, note])))

    const loading = useNotes.getState().load()
    expect(await useNotes.getState().add({ title: created.title, body: '' })).toBe(true)
    answerFirstLoad(reply(200, page([note]))) // read before the note was saved
    await loading
    await vi.waitFor(() => expect(useNotes.getState().status).toBe('ready'))

    const calls = await Promise.all([0, 1, 2].map((n) => sent(fetchMock, n)))
    expect(calls.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'GET /api/notes/',
      'POST /api/notes/',
      'GET /api/notes/',
    ])
    expect(useNotes.getState().notes.map((n) => n.id)).toEqual([2, 1])
  })

  it('shows the page asked for last, whichever answers first', async () => {
    let answerFirstPage: (response: Response) => void = () => {}
    fetchMock
      .mockReturnValueOnce(new Promise((resolve) => (answerFirstPage = resolve)))
      .mockResolvedValueOnce(reply(200, page([{ ...note, id: 3 }], { count: 30, previous: true })))

    const first = useNotes.getState().load(1)
    await useNotes.getState().load(2)
    answerFirstPage(reply(200, page([note], { count: 30, next: true })))
    await first

    expect(useNotes.getState()).toMatchObject({ page: 2, hasPrevious: true, status: 'ready' })
    expect(useNotes.getState().notes.map((n) => n.id)).toEqual([3])
  })

  it('reports validation errors from the API', async () => {
    fetchMock.mockResolvedValueOnce(reply(400, { title: ['This field is required.'] }))

    const ok = await useNotes.getState().add({ title: '', body: '' })

    expect(ok).toBe(false)
    expect(useNotes.getState().error).toBe('title: This field is required.')
    expect(useNotes.getState().notes).toEqual([])
  })
})
