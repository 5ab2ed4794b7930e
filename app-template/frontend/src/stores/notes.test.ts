import { afterEach, describe, expect, it } from 'vitest'
import { note, mockFetchEachTest } from '../test/fetchMock.ts'
import { useNotes } from './notes.ts'

function reply(status: number, data: unknown) {
  return Response.json(data, { status })
}

describe('notes store', () => {
  const fetchMock = mockFetchEachTest()

  afterEach(() => {
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
  })

  it('loads a plain list', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, [note]))

    await useNotes.getState().load()

    expect(fetchMock).toHaveBeenCalledWith('/api/notes/', expect.anything())
    expect(useNotes.getState()).toMatchObject({ notes: [note], status: 'ready', error: null })
  })

  it('loads a paginated list', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, { count: 1, results: [note] }))

    await useNotes.getState().load()

    expect(useNotes.getState().notes).toEqual([note])
  })

  it('keeps the error when loading fails', async () => {
    fetchMock.mockResolvedValueOnce(reply(503, { detail: 'Service unavailable' }))

    await useNotes.getState().load()

    expect(useNotes.getState()).toMatchObject({ status: 'error', error: 'Service unavailable' })
  })

  it('adds a note with a POST and puts it first', async () => {
    useNotes.setState({ notes: [note], status: 'ready' })
    const created = { ...note, id: 2, title: 'Second' }
    fetchMock.mockResolvedValueOnce(reply(201, created))
    document.cookie = 'csrftoken=abc123'

    const ok = await useNotes.getState().add({ title: 'Second', body: 'Hello' })

    expect(ok).toBe(true)
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/notes/')
    expect(init?.method).toBe('POST')
    expect(JSON.parse(init?.body as string)).toEqual({ title: 'Second', body: 'Hello' })
    const headers = new Headers(init?.headers)
    expect(headers.get('Content-Type')).toBe('application/json')
    expect(headers.get('X-CSRFToken')).toBe('abc123')
    expect(useNotes.getState().notes.map((n) => n.id)).toEqual([2, 1])
  })

  it('reports validation errors from the API', async () => {
    fetchMock.mockResolvedValueOnce(reply(400, { title: ['This field is required.'] }))

    const ok = await useNotes.getState().add({ title: '', body: '' })

    expect(ok).toBe(false)
    expect(useNotes.getState().error).toBe('title: This field is required.')
    expect(useNotes.getState().notes).toEqual([])
  })
})
