import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { MemoryRouter } from 'react-router'
import { describe, expect, it } from 'vitest'
import App from './App.tsx'
import { note, mockFetchEachTest } from './test/fetchMock.ts'

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <App />
    </MemoryRouter>,
  )
}

describe('App', () => {
  const fetchMock = mockFetchEachTest()

  it('shows the notes from the API on the home page', async () => {
    fetchMock.mockResolvedValueOnce(Response.json([note]))

    renderAt('/')

    expect(screen.getByRole('heading', { level: 1, name: 'Notes' })).toBeTruthy()
    expect(await screen.findByRole('heading', { level: 2, name: 'First note' })).toBeTruthy()
  })

  it('adds a note from the form', async () => {
    const user = userEvent.setup()
    fetchMock.mockResolvedValueOnce(Response.json([]))
    renderAt('/')
    expect(await screen.findByText('No notes yet.')).toBeTruthy()

    fetchMock.mockResolvedValueOnce(Response.json({ ...note, title: 'Buy milk' }, { status: 201 }))
    await user.type(screen.getByLabelText('Title'), 'Buy milk')
    await user.click(screen.getByRole('button', { name: 'Add note' }))

    expect(await screen.findByRole('heading', { name: 'Buy milk' })).toBeTruthy()
    expect((screen.getByLabelText('Title') as HTMLInputElement).value).toBe('')
  })

  it('shows a not-found page for unknown paths', () => {
    renderAt('/no/such/page')

    expect(screen.getByRole('heading', { name: 'Page not found' })).toBeTruthy()
    expect(screen.getByText('/no/such/page')).toBeTruthy()
    expect(fetchMock).not.toHaveBeenCalled()
  })
})
