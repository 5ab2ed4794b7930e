import { afterEach, beforeEach, vi } from 'vitest'
import { useNotes, type Note } from '../stores/notes.ts'

export const note: Note = { id: 1, title: 'First note', body: 'Hello', created_at: '2025-01-01T12:00:00Z' }

/** For each test of the calling file: a fresh notes store and a mocked fetch. */
export function mockFetchEachTest() {
  const fetchMock = vi.fn<typeof fetch>()

  beforeEach(() => {
    useNotes.setState(useNotes.getInitialState())
    vi.stubGlobal('fetch', fetchMock)
  })

  afterEach(() => {
    fetchMock.mockReset()
    vi.unstubAllGlobals()
  })

  return fetchMock
}
