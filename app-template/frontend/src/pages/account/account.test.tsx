import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { location, renderAt } from '../../test/render.tsx'
import { useSession } from '../../stores/session.ts'
import { mockFetchEachTest, page, sent, signedInAs, user } from '../../test/fetchMock.ts'

const signedIn = (status = 200) => Response.json({ status, data: { user } }, { status })
const signedOut = () =>
  Response.json({ status: 401, data: { flows: [{ id: 'login' }] } }, { status: 401 })
const verifyEmail = () =>
  Response.json(
    { status: 401, data: { flows: [{ id: 'verify_email', is_pending: true }] } },
    { status: 401 },
  )
const invalid = (...errors: { message: string; code?: string; param?: string }[]) =>
  Response.json({ status: 400, errors }, { status: 400 })

describe('Sign in', () => {
  const fetchMock = mockFetchEachTest()

  it('signs in with the CSRF header and goes to the notes', async () => {
    signedInAs(null)
    document.cookie = 'csrftoken=token42'
    const typist = renderAt('/account/signin')
    expect(screen.getByRole('link', { name: 'Forgot your password?' }).getAttribute('href')).toBe(
      '/account/password/reset',
    )

    fetchMock.mockResolvedValueOnce(signedIn())
    fetchMock.mockResolvedValueOnce(Response.json(page([])))
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'correct horse')
    await typist.click(screen.getByRole('button', { name: 'Sign in' }))

    expect(await screen.findByRole('heading', { level: 1, name: 'Your notes' })).toBeTruthy()
    expect(location()).toBe('/notes')
    expect(await sent(fetchMock, 0)).toEqual({
      url: '/api/auth/browser/v1/auth/login',
      method: 'POST',
      credentials: 'same-origin',
      body: { email: user.email, password: 'correct horse' },
      csrf: 'token42',
      contentType: 'application/json',
    })
    expect(useSession.getState().user).toEqual(user)
    expect(screen.getByText(user.email)).toBeTruthy()
  })

  it('shows the errors of the API beside the form, read out, and stays', async () => {
    signedInAs(null)
    const typist = renderAt('/account/signin')

    fetchMock.mockResolvedValueOnce(
      invalid(
        { message: 'The e-mail address and/or password you specified are not correct.' },
        { message: 'Enter a valid email address.', code: 'invalid', param: 'email' },
      ),
    )
    await typist.type(screen.getByLabelText('Email'), 'ada@example.com')
    await typist.type(screen.getByLabelText('Password'), 'wrong')
    await typist.click(screen.getByRole('button', { name: 'Sign in' }))

    const general = await screen.findByText(/and\/or password you specified are not correct/)
    expect(general.closest('[aria-live]')).toBeTruthy()
    const email = screen.getByLabelText('Email')
    expect(email.getAttribute('aria-invalid')).toBe('true')
    const described = document.getElementById(email.getAttribute('aria-describedby')!)
    expect(described?.textContent).toBe('Enter a valid email address.')
    expect(described?.getAttribute('aria-live')).toBe('polite')
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('false')
    expect(location()).toBe('/account/signin')
    expect(useSession.getState().user).toBeNull()
  })

  it('asks for the e-mail confirmation first when the account waits for it', async () => {
    signedInAs(null)
    const typist = renderAt('/account/signin')

    fetchMock.mockResolvedValueOnce(verifyEmail())
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'correct horse')
    await typist.click(screen.getByRole('button', { name: 'Sign in' }))

    expect(await screen.findByText(/Confirm your e-mail address first/)).toBeTruthy()
    expect(useSession.getState().user).toBeNull()
  })

  it('says so when the site cannot be reached', async () => {
    signedInAs(null)
    const typist = renderAt('/account/signin')

    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'correct horse')
    await typist.click(screen.getByRole('button', { name: 'Sign in' }))

    expect(await screen.findByText(/cannot be reached/)).toBeTruthy()
  })

  it('goes back only to a path of this site', async () => {
    signedInAs(user)
    fetchMock.mockResolvedValueOnce(Response.json(page([])))

    renderAt('/account/signin?next=//evil.example/notes')

    expect(await screen.findByRole('heading', { level: 1, name: 'Your notes' })).toBeTruthy()
    expect(location()).toBe('/notes')
  })
})

describe('Sign up', () => {
  const fetchMock = mockFetchEachTest()

  it('signs up, then says to check the e-mail', async () => {
    signedInAs(null)
    const typist = renderAt('/account/signup')

    fetchMock.mockResolvedValueOnce(verifyEmail())
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'a long new password')
    await typist.click(screen.getByRole('button', { name: 'Sign up' }))

    expect(await screen.findByRole('heading', { name: 'Check your e-mail' })).toBeTruthy()
    expect(screen.getByRole('status').textContent).toContain(user.email)
    expect(screen.queryByRole('button', { name: 'Sign up' })).toBeNull()
    expect(await sent(fetchMock, 0)).toMatchObject({
      url: '/api/auth/browser/v1/auth/signup',
      method: 'POST',
      body: { email: user.email, password: 'a long new password' },
    })
    expect(useSession.getState().user).toBeNull()
  })

  it('shows why the password is refused', async () => {
    signedInAs(null)
    const typist = renderAt('/account/signup')

    const message = 'This password is too common.'
    fetchMock.mockResolvedValueOnce(
      invalid({ message, code: 'password_too_common', param: 'password' }),
    )
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.type(screen.getByLabelText('Password'), 'password')
    await typist.click(screen.getByRole('button', { name: 'Sign up' }))

    expect(await screen.findByText(message)).toBeTruthy()
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('true')
  })
})

describe('E-mail confirmation', () => {
  const fetchMock = mockFetchEachTest()

  it('confirms with the key of the link and signs in', async () => {
    signedInAs(null)
    const typist = renderAt('/account/verify-email/MQ:1abc:xyz')

    fetchMock.mockResolvedValueOnce(signedIn())
    fetchMock.mockResolvedValueOnce(Response.json(page([])))
    await typist.click(screen.getByRole('button', { name: 'Confirm e-mail' }))

    expect(await screen.findByRole('heading', { level: 1, name: 'Your notes' })).toBeTruthy()
    expect(await sent(fetchMock, 0)).toMatchObject({
      url: '/api/auth/browser/v1/auth/email/verify',
      body: { key: 'MQ:1abc:xyz' },
    })
  })

  it('sends to sign in when the confirmation does not sign in', async () => {
    signedInAs(null)
    const typist = renderAt('/account/verify-email/MQ:1abc:xyz')

    fetchMock.mockResolvedValueOnce(signedOut())
    await typist.click(screen.getByRole('button', { name: 'Confirm e-mail' }))

    expect(await screen.findByText('Your e-mail address is confirmed: sign in.')).toBeTruthy()
    expect(location()).toBe('/account/signin')
  })

  it('shows a refused key', async () => {
    signedInAs(null)
    const typist = renderAt('/account/verify-email/stale')

    fetchMock.mockResolvedValueOnce(invalid({ message: 'Invalid or expired key.', param: 'key' }))
    await typist.click(screen.getByRole('button', { name: 'Confirm e-mail' }))

    expect(await screen.findByText('Invalid or expired key.')).toBeTruthy()
  })
})

describe('Passwords', () => {
  const fetchMock = mockFetchEachTest()

  it('sends a reset link, then says to check the e-mail', async () => {
    signedInAs(null)
    const typist = renderAt('/account/password/reset')

    fetchMock.mockResolvedValueOnce(Response.json({ status: 200 }))
    await typist.type(screen.getByLabelText('Email'), user.email)
    await typist.click(screen.getByRole('button', { name: 'Send reset link' }))

    expect(await screen.findByRole('heading', { name: 'Check your e-mail' })).toBeTruthy()
    expect(await sent(fetchMock, 0)).toMatchObject({
      url: '/api/auth/browser/v1/auth/password/request',
      body: { email: user.email },
    })
  })

  it('sets a new password from the key of the link, then sends to sign in', async () => {
    signedInAs(null)
    const typist = renderAt('/account/password/reset/key/2-abc-def')

    fetchMock.mockResolvedValueOnce(signedOut())
    await typist.type(screen.getByLabelText('New password'), 'a long new password')
    await typist.click(screen.getByRole('button', { name: 'Set password' }))

    expect(await screen.findByText('Your new password is set: sign in with it.')).toBeTruthy()
    expect(location()).toBe('/account/signin')
    expect(await sent(fetchMock, 0)).toMatchObject({
      url: '/api/auth/browser/v1/auth/password/reset',
      body: { key: '2-abc-def', password: 'a long new password' },
    })
  })

  it('changes the password of the signed-in user', async () => {
    signedInAs(user)
    const typist = renderAt('/account/password/change')

    fetchMock.mockResolvedValueOnce(
      invalid({ message: 'Please type your current password.', param: 'current_password' }),
    )
    await typist.type(screen.getByLabelText('Current password'), 'wrong')
    await typist.type(screen.getByLabelText('New password'), 'a long new password')
    await typist.click(screen.getByRole('button', { name: 'Change password' }))
    expect(await screen.findByText('Please type your current password.')).toBeTruthy()

    fetchMock.mockResolvedValueOnce(signedIn())
    await typist.clear(screen.getByLabelText('Current password'))
    await typist.type(screen.getByLabelText('Current password'), 'correct horse')
    await typist.click(screen.getByRole('button', { name: 'Change password' }))

    expect(await screen.findByText('Your password is changed.')).toBeTruthy()
    expect(screen.queryByText('Please type your current password.')).toBeNull()
    expect((screen.getByLabelText('New password') as HTMLInputElement).value).toBe('')
    expect(await sent(fetchMock, 1)).toMatchObject({
      url: '/api/auth/browser/v1/account/password/change',
      body: { current_password: 'correct horse', new_password: 'a long new password' },
    })
  })

  it('sends a signed-out visitor of the password change to sign in', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user: null }))

    renderAt('/account/password/change')

    expect(await screen.findByRole('heading', { level: 1, name: 'Sign in' })).toBeTruthy()
    expect(location()).toBe('/account/signin?next=/account/password/change')
  })
})
