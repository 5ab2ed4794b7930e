import { StrictMode, startTransition } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router'
import App from './App.tsx'
import './index.css'

// Only in a bundle built with a DSN: without one the condition is '' and Vite leaves Sentry's
// code out of the bundle.
if (import.meta.env.VITE_SENTRY_DSN) {
  void import('./sentry.ts').then(({ startSentry }) => startSentry())
}

// As a transition, the first render yields to the browser every few milliseconds instead of
// blocking a slow phone's main thread until it is done.
startTransition(() => {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  )
})
