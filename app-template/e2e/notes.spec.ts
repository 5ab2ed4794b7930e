import { expect, test, type APIRequestContext, type Browser, type Page } from '@playwright/test'

// Two new users, each signing up with a fresh address: sign-up, the verification mail in the
// mail catcher (MailDev's REST API at /mail/email), sign-in, a note, sign-out; neither sees
// the other's notes.

type Mail = { to: { address: string }[]; text?: string; html?: string }

const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
const password = `e2e-Passw0rd-${run}`

async function verificationLink(request: APIRequestContext, email: string): Promise<string> {
  let link = ''
  await expect
    .poll(
      async () => {
        const mails: Mail[] = await (await request.get('/mail/email')).json()
        const mail = mails.findLast((m) => m.to.some((to) => to.address === email))
        link = `${mail?.text ?? ''} ${mail?.html ?? ''}`.match(/\/account\/verify-email\/[^\s"'<>]+/)?.[0] ?? ''
        return link
      },
      { message: `the verification mail to ${email} in the mail catcher`, timeout: 30_000 },
    )
    .not.toBe('')
  return link
}

async function signUpAndVerify(browser: Browser, request: APIRequestContext, email: string) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto('/account/signup')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByText('Check your e-mail')).toBeVisible()

  await page.goto(await verificationLink(request, email))
  await page.getByRole('button', { name: 'Confirm e-mail' }).click()
  // Confirmed: signed in at once, or sent to sign in.
  await expect(
    page.getByRole('button', { name: 'Sign out' }).or(page.getByRole('button', { name: 'Sign in' })),
  ).toBeVisible()
  await context.close()
}

// A returning user: a browser of their own, signed out.
async function signIn(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  await page.goto('/account/signin')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.locator('header').getByText(email)).toBeVisible()
  return page
}

async function addNote(page: Page, title: string) {
  await page.goto('/notes')
  await page.getByLabel('Title').fill(title)
  await page.getByLabel('Body').fill(`Written by the browser test, run ${run}.`)
  await page.getByRole('button', { name: 'Add note' }).click()
  await expect(page.getByText(title, { exact: true })).toBeVisible()
}

async function noteTitles(page: Page): Promise<string[]> {
  const response = await page.request.get('/api/notes/')
  expect(response.status()).toBe(200)
  return (await response.json()).results.map((note: { title: string }) => note.title)
}

test('a user signs up, confirms by mail, signs in, writes a note, signs out; another cannot see it', async ({
  browser,
  request,
}) => {
  const first = `first-${run}@example.com`
  const second = `second-${run}@example.com`
  const firstTitle = `First's note ${run}`

  await signUpAndVerify(browser, request, first)
  const page = await signIn(browser, first)
  await addNote(page, firstTitle)
  await page.reload()
  await expect(page.getByText(firstTitle, { exact: true })).toBeVisible()
  expect(await noteTitles(page)).toEqual([firstTitle])
  const notes = await (await page.request.get('/api/notes/')).json()
  const firstId: number = notes.results[0].id

  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page.getByRole('link', { name: 'Sign in' }).first()).toBeVisible()
  await page.goto('/notes')
  await expect(page).toHaveURL(/\/account\/signin\?next=/)
  expect((await page.request.get('/api/notes/')).status()).toBeGreaterThanOrEqual(400)

  await signUpAndVerify(browser, request, second)
  const other = await signIn(browser, second)
  const secondTitle = `Second's note ${run}`
  await addNote(other, secondTitle)
  await expect(other.getByText(firstTitle, { exact: true })).toHaveCount(0)
  expect(await noteTitles(other)).toEqual([secondTitle])
  expect((await other.request.get(`/api/notes/${firstId}/`)).status()).toBe(404)
})
