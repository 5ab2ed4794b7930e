import { afterEach, describe, expect, it, vi } from 'vitest'

const init = vi.hoisted(() => vi.fn())
vi.mock('@sentry/react', () => ({ init }))

describe('startSentry', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    init.mockReset()
  })

  it('reports to the DSN the bundle was built with, as the release it was built for', async () => {
    vi.stubEnv('VITE_SENTRY_DSN', 'https://key@errors.example.com/7')
    vi.stubEnv('VITE_SENTRY_RELEASE', '0123abcd')
    const { startSentry } = await import('./sentry.ts')

    startSentry()

    expect(init).toHaveBeenCalledWith({
      dsn: 'https://key@errors.example.com/7',
      release: '0123abcd',
    })
  })

  it('names no release when the build had none', async () => {
    vi.stubEnv('VITE_SENTRY_DSN', 'https://key@errors.example.com/7')
    vi.stubEnv('VITE_SENTRY_RELEASE', '')
    const { startSentry } = await import('./sentry.ts')

    startSentry()

    expect(init).toHaveBeenCalledWith(expect.objectContaining({ release: undefined }))
  })
})
