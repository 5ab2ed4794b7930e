import { screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { location, renderAt } from './test/render.tsx'
import { mockFetchEachTest, note, page, sent, signedInAs, user } from './test/fetchMock.ts'

describe('App', () => {
  const fetchMock = mockFetchEachTest()

  it('asks who is signed in once, and shows a signed-out visitor the way in', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user: null }))

    renderAt('/')

    expect(screen.getByRole('heading', { level: 1, name: 'Notes' })).toBeTruthy()
    const header = within(screen.getByRole('banner'))
    expect(await header.findByRole('link', { name: 'Sign in' })).toBeTruthy()
    expect(header.getByRole('link', { name: 'Sign up' }).getAttribute('href')).toBe(
      '/account/signup',
    )
    expect(screen.getByRole('main').textContent).toContain('Sign in or Sign up')
    expect(fetchMock).toHaveBeenCalledTimes(1)
    expect((await sent(fetchMock, 0)).url).toBe('/api/session/')
  })

  it('shows a signed-in user their e-mail and the way to their notes', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user }))

    renderAt('/')

    expect(await screen.findByText(user.email)).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Sign out' })).toBeTruthy()
    expect(screen.getByRole('link', { name: 'Go to your notes' }).getAttribute('href')).toBe(
      '/notes',
    )
    expect(screen.queryByRole('link', { name: 'Sign in' })).toBeNull()
  })

  it('sends a signed-out visitor of /notes to sign in, and back after it', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user: null }))

    const typist = renderAt('/notes?page=2')

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy()
    expect(location()).toBe('/account/signin?next=/notes%3Fpage%3D2')

    fetchMock.mockResolvedValueOnce(Response.json({ status: 200, data: { user } }))
    fetchMock.mockResolvedValueOnce(Response.json(page([note], { count: 11, previous: true })))
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'correct horse')
    await typist.click(screen.getByRole('button', { name: 'Sign in' }))

    expect(await screen.findByRole('heading', { level: 1, name: 'Your notes' })).toBeTruthy()
    expect(location()).toBe('/notes?page=2')
    expect((await sent(fetchMock, 2)).url).toBe('/api/notes/?page=2')
  })

  it('pages through the notes with Previous and Next', async () => {
    signedInAs(user)
    fetchMock.mockResolvedValueOnce(Response.json(page([note], { count: 21, next: true })))

    const typist = renderAt('/notes')

    expect(await screen.findByRole('heading', { level: 2, name: 'First note' })).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Previous' })).toHaveProperty('disabled', true)
    expect(screen.getByText('Page 1')).toBeTruthy()

    const second = { ...note, id: 2, title: 'Second page' }
    fetchMock.mockResolvedValueOnce(
      Response.json(page([second], { count: 21, previous: true, next: true })),
    )
    await typist.click(screen.getByRole('button', { name: 'Next' }))

    expect(await screen.findByRole('heading', { level: 2, name: 'Second page' })).toBeTruthy()
    expect(location()).toBe('/notes?page=2')
    expect((await sent(fetchMock, 1)).url).toBe('/api/notes/?page=2')
    expect(screen.getByText('Page 2')).toBeTruthy()

    fetchMock.mockResolvedValueOnce(Response.json(page([note], { count: 21, next: true })))
    await typist.click(screen.getByRole('button', { name: 'Previous' }))

    expect(await screen.findByRole('heading', { level: 2, name: 'First note' })).toBeTruthy()
    expect(location()).toBe('/notes')
    expect((await sent(fetchMock, 2)).url).toBe('/api/notes/')
  })

  it('shows no page controls when the notes fit on one page', async () => {
    signedInAs(user)
    fetchMock.mockResolvedValueOnce(Response.json(page([])))

    renderAt('/notes')

    expect(await screen.findByText('No notes yet.')).toBeTruthy()
    expect(screen.queryByRole('navigation', { name: 'Pages' })).toBeNull()
  })

  it('adds a note from the form', async () => {
    signedInAs(user)
    fetchMock.mockResolvedValueOnce(Response.json(page([])))
    const typist = renderAt('/notes')
    expect(await screen.findByText('No notes yet.')).toBeTruthy()

    fetchMock.mockResolvedValueOnce(Response.json({ ...note, title: 'Buy milk' }, { status: 201 }))
    await typist.type(screen.getByLabelText('Title'), 'Buy milk')
    await typist.click(screen.getByRole('button', { name: 'Add note' }))

    expect(await screen.findByRole('heading', { name: 'Buy milk' })).toBeTruthy()
    expect((screen.getByLabelText('Title') as HTMLInputElement).value).toBe('')
  })

  it('signs out from the header and goes home', async () => {
    signedInAs(user)
    fetchMock.mockResolvedValueOnce(Response.json(page([note])))
    const typist = renderAt('/notes')
    expect(await screen.findByRole('heading', { level: 2, name: 'First note' })).toBeTruthy()
    document.cookie = 'csrftoken=abc123'

    fetchMock.mockResolvedValueOnce(
      Response.json({ status: 401, data: { flows: [] } }, { status: 401 }),
    )
    await typist.click(screen.getByRole('button', { name: 'Sign out' }))

    expect(
      await within(screen.getByRole('banner')).findByRole('link', { name: 'Sign up' }),
    ).toBeTruthy()
    expect(location()).toBe('/')
    expect(await sent(fetchMock, 1)).toMatchObject({
      url: '/api/auth/browser/v1/auth/session',
      method: 'DELETE',
      csrf: 'abc123',
    })
    expect(screen.queryByText(user.email)).toBeNull()
  })

  it('shows a not-found page for unknown paths', () => {
    signedInAs(null)
    renderAt('/no/such/page')

    expect(screen.getByRole('heading', { name: 'Page not found' })).toBeTruthy()
    expect(within(screen.getByRole('main')).getByText('/no/such/page')).toBeTruthy()
    expect(fetchMock).not.toHaveBeenCalled()
  })
})
