import { init } from '@sentry/react'

// The page's uncaught errors and rejections go to Sentry, named with the release the bundle was
// built for: the app's commit (the stack's build passes VITE_SENTRY_RELEASE).
export function startSentry(): void {
  init({
    dsn: import.meta.env.VITE_SENTRY_DSN,
    release: import.meta.env.VITE_SENTRY_RELEASE || undefined,
  })
}
