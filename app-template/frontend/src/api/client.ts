import { client } from './generated/client.gen.ts'

// The generated client (make api-client writes generated/ from the API's schema, openapi.json)
// on the site's own origin, with its session cookie and Django's CSRF header.
client.setConfig({
  baseUrl: window.location.origin,
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
})
client.interceptors.request.use((request) => {
  const token = csrfToken()
  if (token) request.headers.set('X-CSRFToken', token)
  return request
})

export class ApiError extends Error {
  readonly status: number

  constructor(status: number, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

function csrfToken(): string | undefined {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))
  return cookie?.slice('csrftoken='.length)
}

/** What the API said was wrong: DRF's detail, or each field's problems. */
function errorMessage(error: unknown, response: Response): string {
  if (error && typeof error === 'object') {
    if ('detail' in error && typeof error.detail === 'string') return error.detail
    const fields = Object.entries(error)
    if (fields.length) {
      return fields.map(([field, problems]) => `${field}: ${[problems].flat().join(' ')}`).join('; ')
    }
  }
  if (typeof error === 'string' && error) return error
  return `${response.status} ${response.statusText}`
}

type Result<T> = { data?: T; error?: unknown; response?: Response }

/** The data of a call of the generated client; an ApiError when the API refused it. */
export async function data<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call
  if (!response) throw error instanceof Error ? error : new Error(String(error))
  if (!response.ok) throw new ApiError(response.status, errorMessage(error, response))
  return data as T
}
