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

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text()
  try {
    const data: unknown = JSON.parse(text)
    if (data && typeof data === 'object') {
      if ('detail' in data && typeof data.detail === 'string') return data.detail
      return Object.entries(data)
        .map(([field, problems]) => `${field}: ${[problems].flat().join(' ')}`)
        .join('; ')
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text || `${response.status} ${response.statusText}`
}

/** fetch on the site's own origin, with its session cookie and Django's CSRF header. */
export function send(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('Accept', 'application/json')
  if (init.body !== undefined) headers.set('Content-Type', 'application/json')
  const token = csrfToken()
  if (token) headers.set('X-CSRFToken', token)
  return fetch(path, { ...init, headers, credentials: 'same-origin' })
}

export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await send(path, init)
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response))
  return (response.status === 204 ? undefined : await response.json()) as T
}

export const api = {
  get: <T>(path: string) => request<T>(path),
  post: <T>(path: string, body: unknown) =>
    request<T>(path, { method: 'POST', body: JSON.stringify(body) }),
}
