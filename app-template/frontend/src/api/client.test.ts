import { describe, expect, it } from 'vitest'
import { mockFetchEachTest } from '../test/fetchMock.ts'
import { signIn } from './auth.ts'
import { ApiError, data } from './client.ts'
import { sessionRetrieve } from './generated/sdk.gen.ts'

describe('the API client', () => {
  const fetchMock = mockFetchEachTest()

  it('gives the data of an answer that went well', async () => {
    fetchMock.mockResolvedValueOnce(Response.json({ user: null }))

    expect(await data(sessionRetrieve())).toEqual({ user: null })
  })

  it.each([
    ['DRF detail', Response.json({ detail: 'Not found.' }, { status: 404 }), 'Not found.'],
    [
      'fields',
      Response.json({ title: ['Too long.'], body: ['Empty.'] }, { status: 400 }),
      'title: Too long.; body: Empty.',
    ],
    ['text', new Response('Bad gateway, try later', { status: 502 }), 'Bad gateway, try later'],
    [
      'nothing',
      new Response('', { status: 503, statusText: 'Service Unavailable' }),
      '503 Service Unavailable',
    ],
  ])('says what the API refused with (%s)', async (_, answer, message) => {
    fetchMock.mockResolvedValueOnce(answer)

    const refused = data(sessionRetrieve())

    await expect(refused).rejects.toThrow(new ApiError(answer.status, message))
    await expect(refused).rejects.toHaveProperty('status', answer.status)
  })

  it('fails as fetch does when the site cannot be reached', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))

    await expect(data(sessionRetrieve())).rejects.toThrow('Failed to fetch')
  })
})

describe('the account API', () => {
  const fetchMock = mockFetchEachTest()

  it('shows what a server error said, or that something went wrong', async () => {
    const maintenance = Response.json({ detail: 'Down for maintenance.' }, { status: 503 })
    fetchMock.mockResolvedValueOnce(maintenance)
    expect(await signIn('ada@example.com', 'x')).toEqual({
      kind: 'error',
      errors: [{ message: 'Down for maintenance.' }],
    })

    fetchMock.mockResolvedValueOnce(new Response('<h1>Server Error</h1>', { status: 500 }))
    expect(await signIn('ada@example.com', 'x')).toEqual({
      kind: 'error',
      errors: [{ message: 'Something went wrong (500): try again later.' }],
    })
  })
})
